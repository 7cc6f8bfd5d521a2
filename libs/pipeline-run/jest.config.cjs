module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: require('./package.json').name.replace('@movie-stream/', ''),
  rootDir: __dirname,
  // Integration tests here need a broker: started once, here or by the root config.
  globalSetup: '<rootDir>/../../tools/test-support/global-setup.cjs',
};
