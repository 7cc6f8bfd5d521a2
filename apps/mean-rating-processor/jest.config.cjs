module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'mean-rating-processor',
  rootDir: __dirname,
};
