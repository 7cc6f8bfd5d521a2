// Root config: `npm test` runs every project's tests in one jest process; the broker is started once.
// The fault tests (minutes, broker kills) run on their own: `npm run test:faults`.
const { existsSync, readdirSync } = require('node:fs');
const { join } = require('node:path');

const projects = ['libs', 'tools'].flatMap((dir) =>
  readdirSync(join(__dirname, dir))
    .filter((p) => p !== 'fault-tests' && existsSync(join(__dirname, dir, p, 'jest.config.cjs')))
    .map((p) => `<rootDir>/${dir}/${p}/jest.config.cjs`),
);

module.exports = {
  projects,
  globalSetup: '<rootDir>/tools/test-support/global-setup.cjs',
  maxWorkers: 2,
};
