/**
 * `npm run test:cluster`: the suites that matter, against a real kube-apiserver with real
 * controllers (see test/cluster/global-setup.mjs). The same test files run on the embedded API
 * server in `npm test`; here KEYLESS_TEST_KUBECONFIG points them at the real cluster.
 */
import base from './jest.config.js';

export default {
  ...base,
  testMatch: [
    '<rootDir>/test/e2e/controller.test.ts',
    '<rootDir>/test/e2e/approvals.test.ts',
    '<rootDir>/test/e2e/controller-resilience.test.ts',
    '<rootDir>/test/e2e/failing-reconcile.test.ts',
    '<rootDir>/test/e2e/rollout-settings.test.ts',
    '<rootDir>/test/github/github-reporting.test.ts',
    '<rootDir>/test/receiver/receiver-e2e.test.ts',
    '<rootDir>/test/apiserver/kubectl-conformance.test.ts',
    '<rootDir>/test/api/policy-claims-schema.test.ts',
    '<rootDir>/test/cluster/**/*.test.ts',
    // The differential suite: every scenario on the embedded and on the real API server.
    '<rootDir>/test/conformance/differential.test.ts',
  ],
  testPathIgnorePatterns: ['/node_modules/'],
  globalSetup: '<rootDir>/test/cluster/global-setup.mjs',
  globalTeardown: '<rootDir>/test/cluster/global-teardown.mjs',
  // Real rollouts (scheduler, kwok, the deployment controller) take seconds, not milliseconds.
  testTimeout: 180_000,
  // The control plane's processes share the two cores with the tests.
  maxWorkers: 1,
};
