import { loadControllerConfig } from '../../src/controller/controller-config.js';
import { configError } from '../support/config-error.js';

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  KEYLESS_ATTESTATION_PUBLIC_KEY_FILE: '/keys/attestation-public-key.pem',
  ...extra,
});

test('defaults: every namespace, leader election on, four workers', () => {
  expect(loadControllerConfig(env())).toMatchObject({
    attestationPublicKeyFile: '/keys/attestation-public-key.pem',
    leaderElection: true,
    leaderElectionNamespace: 'keyless-system',
    concurrency: 16,
    metricsListen: { host: '0.0.0.0', port: 8081 },
    namespaces: [],
  });
});

test('flags win over environment variables', () => {
  const config = loadControllerConfig(env({ KEYLESS_CONCURRENCY: '2', KEYLESS_NAMESPACES: 'a' }), {
    concurrency: '8',
    namespaces: 'shop,billing',
    'metrics-listen': '[::1]:9000',
  });
  expect(config).toMatchObject({
    concurrency: 8,
    namespaces: ['shop', 'billing'],
    metricsListen: { host: '::1', port: 9000 },
  });
});

test.each([
  [{}, '--attestation-public-key-file / KEYLESS_ATTESTATION_PUBLIC_KEY_FILE: is required', false],
  [
    { KEYLESS_CONCURRENCY: '0' },
    '--concurrency / KEYLESS_CONCURRENCY: must be a whole number from 1 to 64',
    true,
  ],
  [{ KEYLESS_LEADER_ELECTION: 'maybe' }, "KEYLESS_LEADER_ELECTION: must be true or false, got 'maybe'", true],
  [{ KEYLESS_METRICS_LISTEN: 'nowhere' }, "KEYLESS_METRICS_LISTEN: must be host:port, got 'nowhere'", true],
  [
    { KEYLESS_NAMESPACES: 'shop,../etc' },
    "--namespaces / KEYLESS_NAMESPACES: '../etc' is not a namespace name",
    true,
  ],
])('a bad setting is named: %j', (extra, message, withKey) => {
  const base: NodeJS.ProcessEnv = withKey ? env() : {};
  expect(configError(() => loadControllerConfig({ ...base, ...extra })).message).toContain(message);
});
