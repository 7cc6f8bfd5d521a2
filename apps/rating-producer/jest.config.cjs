module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'rating-producer',
  rootDir: __dirname,
};
