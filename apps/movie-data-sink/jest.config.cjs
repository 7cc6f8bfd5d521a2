module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'movie-data-sink',
  rootDir: __dirname,
};
