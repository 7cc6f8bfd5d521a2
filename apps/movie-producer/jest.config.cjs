module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'movie-producer',
  rootDir: __dirname,
};
