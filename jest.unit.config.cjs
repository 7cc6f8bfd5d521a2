// `npm run test:unit`: the root config's projects without the tests that need a broker (integration tests
// are named *.int.test.ts) and without starting one (no globalSetup), so it runs on a machine with no Kafka.
const { join } = require('node:path');
const root = require('./jest.config.cjs');

module.exports = {
  maxWorkers: root.maxWorkers,
  projects: root.projects.map((p) => {
    const project = { ...require(p.replace('<rootDir>', __dirname)) };
    delete project.globalSetup;
    return { ...project, testPathIgnorePatterns: [...(project.testPathIgnorePatterns ?? ['/node_modules/']), '\\.int\\.test\\.ts$'] };
  }),
  rootDir: join(__dirname),
};
