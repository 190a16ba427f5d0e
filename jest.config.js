/** Jest in native ESM mode (run with NODE_OPTIONS=--experimental-vm-modules, see package.json). */

// The chaos suite (test/chaos: 1,000-request burst, controller kills, failovers) needs minutes of
// CPU; it runs only when asked for by path (npm run test:chaos), not in the default run.
// test/cluster and the differential suite (test/conformance) need a real kube-apiserver:
// npm run test:cluster (jest.cluster.config.js).
const chaosRequested = process.argv.some((arg) => arg.includes('test/chaos'));
// The container run test needs rootful podman and a built image (npm run test:image); likewise.
const containerRunRequested = process.argv.some((arg) => arg.includes('container-run'));

export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/cluster/',
    '<rootDir>/test/conformance/differential',
    ...(chaosRequested ? [] : ['<rootDir>/test/chaos/']),
    ...(containerRunRequested ? [] : ['<rootDir>/test/ship/container-run']),
  ],
  testTimeout: 30000,
  // Every installation-token request of the suite is recorded and audited at the end.
  globalSetup: '<rootDir>/test/support/token-audit-setup.mjs',
  globalTeardown: '<rootDir>/test/support/token-audit-teardown.mjs',
  // Integration tests start HTTP servers and real kubectl processes; two cores, two workers.
  maxWorkers: 2,
};
