// Fault tests kill services and brokers: minutes of wall time, run one file at a time (`npm run test:faults`).
module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'fault-tests',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.fault-test.ts'],
  globalSetup: '<rootDir>/../test-support/global-setup.cjs',
};
