module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'storable-frame',
  rootDir: __dirname,
};
