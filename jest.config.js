/** Jest in native ESM mode (run with NODE_OPTIONS=--experimental-vm-modules, see package.json). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
  // Every installation-token request of the suite is recorded and audited at the end.
  globalSetup: '<rootDir>/test/support/token-audit-setup.mjs',
  globalTeardown: '<rootDir>/test/support/token-audit-teardown.mjs',
  // Integration tests start HTTP servers and real kubectl processes; two cores, two workers.
  maxWorkers: 2,
};
