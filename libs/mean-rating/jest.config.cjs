module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'mean-rating',
  rootDir: __dirname,
};
