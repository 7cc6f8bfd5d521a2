// Root config: `npm test` runs every project's tests in one jest process; the broker is started once.
module.exports = {
  projects: ['<rootDir>/libs/*/jest.config.cjs', '<rootDir>/tools/*/jest.config.cjs'],
  globalSetup: '<rootDir>/tools/test-support/global-setup.cjs',
  maxWorkers: 2,
};
