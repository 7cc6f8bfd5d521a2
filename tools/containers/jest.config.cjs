// Two kinds of tests here:
//  - src/**/*.test.ts: fast checks of the compose file; part of `npm test` (the root config loads
//    this file as one of its projects).
//  - src/**/*.container-test.ts: build every image and run the pipeline from them, and the compose stack
//    (slow; needs podman or docker). Only when this config is run directly (`jest -c tools/containers/jest.config.cjs`,
//    i.e. `npm run test:containers`) or with CONTAINER_TESTS=1; CONTAINER_TESTS=0 turns them off.
const direct = process.argv.some((a) => /tools[\\/]containers[\\/]jest\.config\.cjs$/.test(a));
const containerTests = process.env.CONTAINER_TESTS ? process.env.CONTAINER_TESTS === '1' : direct;

module.exports = {
  ...require('../../jest.preset.cjs'),
  displayName: 'containers',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.test.ts', ...(containerTests ? ['<rootDir>/src/**/*.container-test.ts'] : [])],
  // The container test runs the pipeline against the shared local broker.
  ...(containerTests ? { globalSetup: '<rootDir>/../../tools/test-support/global-setup.cjs' } : {}),
  // One at a time: both container tests build the same image tags, and the stack alone fills 2 cores.
  ...(containerTests ? { maxWorkers: 1 } : {}),
};
