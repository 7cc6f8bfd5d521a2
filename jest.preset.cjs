// Shared jest settings: @swc/jest transpiles TypeScript ~10x faster than ts-jest (no type check here;
// `npm run typecheck` does that).
module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.(t|j)s$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // @platformatic/kafka (and its helpers) ship ES modules only: compiled to CommonJS like our sources
  // (jest on Node 20 cannot require an ES module).
  transformIgnorePatterns: ['/node_modules/(?!@platformatic/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.test.ts'],
  // jest's 5 s default fails tests that do real work (reading ml-latest-small, starting worker threads) when
  // the 2 cores are busy with other suites; a test that hangs still fails, after 60 s.
  testTimeout: 60_000,
};
