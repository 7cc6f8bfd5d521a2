module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'movie-data',
  rootDir: __dirname,
};
