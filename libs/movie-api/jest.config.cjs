module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'movie-api',
  rootDir: __dirname,
};
