module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: require('./package.json').name.replace('@movie-stream/', ''),
  rootDir: __dirname,
};
