module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'movie-db',
  rootDir: __dirname,
};
