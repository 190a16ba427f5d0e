/**
 * The controller's settings: every one a flag and an environment variable (flags win), validated
 * at start-up with errors that name the setting.
 */
import { ConfigError, type Flags } from '../settings/config-error.js';
import { isNamespaceName, settingsReader } from '../settings/settings-reader.js';

export interface ControllerConfig {
  attestationPublicKeyFile: string;
  leaderElection: boolean;
  leaderElectionNamespace: string;
  leaderElectionName: string;
  concurrency: number;
  metricsListen: { host: string; port: number };
  historyTtlSeconds: number;
  historyLimit: number;
  /** Namespaces to act in; empty for all. */
  namespaces: string[];
  kubeconfig?: string;
}

/** Every controller setting: flag, environment variable, default. Also the source of docs/configuration.md. */
export const CONTROLLER_SETTINGS = {
  attestationPublicKeyFile: {
    flag: 'attestation-public-key-file',
    env: 'KEYLESS_ATTESTATION_PUBLIC_KEY_FILE',
    default: undefined,
  },
  leaderElection: { flag: 'leader-election', env: 'KEYLESS_LEADER_ELECTION', default: 'true' },
  leaderElectionNamespace: {
    flag: 'leader-election-namespace',
    env: 'KEYLESS_LEADER_ELECTION_NAMESPACE',
    default: 'keyless-system',
  },
  leaderElectionName: {
    flag: 'leader-election-name',
    env: 'KEYLESS_LEADER_ELECTION_NAME',
    default: 'keyless-deploy-controller',
  },
  concurrency: { flag: 'concurrency', env: 'KEYLESS_CONCURRENCY', default: '16' },
  metricsListen: { flag: 'metrics-listen', env: 'KEYLESS_METRICS_LISTEN', default: '0.0.0.0:8081' },
  historyTtlSeconds: { flag: 'history-ttl', env: 'KEYLESS_HISTORY_TTL', default: '604800' },
  historyLimit: { flag: 'history-limit', env: 'KEYLESS_HISTORY_LIMIT', default: '20' },
  namespaces: { flag: 'namespaces', env: 'KEYLESS_NAMESPACES', default: '' },
  kubeconfig: { flag: 'kubeconfig', env: 'KUBECONFIG', default: undefined },
} as const;

/** Load and validate; throws ConfigError naming the flag and variable. */
export function loadControllerConfig(env: NodeJS.ProcessEnv, flags: Flags = {}): ControllerConfig {
  const { label, raw, required, integer, boolean, namespaces, listen } = settingsReader(
    CONTROLLER_SETTINGS,
    env,
    flags,
  );
  const metricsListen = listen('metricsListen');
  const namespace = required('leaderElectionNamespace');
  if (!isNamespaceName(namespace))
    throw new ConfigError(label('leaderElectionNamespace'), `is not a namespace name: '${namespace}'`);
  const served = namespaces('namespaces');
  return {
    attestationPublicKeyFile: required('attestationPublicKeyFile'),
    leaderElection: boolean('leaderElection'),
    leaderElectionNamespace: namespace,
    leaderElectionName: required('leaderElectionName'),
    concurrency: integer('concurrency', 1, 64),
    metricsListen,
    historyTtlSeconds: integer('historyTtlSeconds', 0, 365 * 24 * 3600),
    historyLimit: integer('historyLimit', 0, 10_000),
    namespaces: served,
    kubeconfig: raw('kubeconfig'),
  };
}
