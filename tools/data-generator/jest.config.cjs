module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'data-generator',
  rootDir: __dirname,
};
