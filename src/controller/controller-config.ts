/**
 * The controller's settings: every one a flag and an environment variable (flags win), validated
 * at start-up with errors that name the setting.
 */
import { ConfigError, type Flags } from '../receiver/index.js';

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
  concurrency: { flag: 'concurrency', env: 'KEYLESS_CONCURRENCY', default: '4' },
  metricsListen: { flag: 'metrics-listen', env: 'KEYLESS_METRICS_LISTEN', default: '0.0.0.0:8081' },
  historyTtlSeconds: { flag: 'history-ttl', env: 'KEYLESS_HISTORY_TTL', default: '604800' },
  historyLimit: { flag: 'history-limit', env: 'KEYLESS_HISTORY_LIMIT', default: '20' },
  namespaces: { flag: 'namespaces', env: 'KEYLESS_NAMESPACES', default: '' },
  kubeconfig: { flag: 'kubeconfig', env: 'KUBECONFIG', default: undefined },
} as const;

type Name = keyof typeof CONTROLLER_SETTINGS;

const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Load and validate; throws ConfigError naming the flag and variable. */
export function loadControllerConfig(env: NodeJS.ProcessEnv, flags: Flags = {}): ControllerConfig {
  const label = (name: Name): string =>
    `--${CONTROLLER_SETTINGS[name].flag} / ${CONTROLLER_SETTINGS[name].env}`;
  const raw = (name: Name): string | undefined => {
    const setting = CONTROLLER_SETTINGS[name];
    const flag = flags[setting.flag];
    if (flag !== undefined) return String(flag);
    const value = env[setting.env];
    return value !== undefined && value !== '' ? value : setting.default;
  };
  const required = (name: Name): string => {
    const value = raw(name)?.trim();
    if (!value) throw new ConfigError(label(name), 'is required');
    return value;
  };
  const integer = (name: Name, min: number, max: number): number => {
    const text = required(name);
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max)
      throw new ConfigError(label(name), `must be a whole number from ${min} to ${max}, got '${text}'`);
    return Number(text);
  };
  const boolean = (name: Name): boolean => {
    const text = required(name).toLowerCase();
    if (!['true', 'false'].includes(text))
      throw new ConfigError(label(name), `must be true or false, got '${text}'`);
    return text === 'true';
  };
  const listen = required('metricsListen');
  const match = /^(.*):(\d{1,5})$/.exec(listen);
  if (!match || Number(match[2]) > 65535)
    throw new ConfigError(label('metricsListen'), `must be host:port, got '${listen}'`);
  const namespace = required('leaderElectionNamespace');
  if (!NAMESPACE_NAME.test(namespace))
    throw new ConfigError(label('leaderElectionNamespace'), `is not a namespace name: '${namespace}'`);
  const namespaces = (raw('namespaces') ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  for (const name of namespaces)
    if (!NAMESPACE_NAME.test(name))
      throw new ConfigError(label('namespaces'), `is not a comma-separated list of namespaces: '${name}'`);
  return {
    attestationPublicKeyFile: required('attestationPublicKeyFile'),
    leaderElection: boolean('leaderElection'),
    leaderElectionNamespace: namespace,
    leaderElectionName: required('leaderElectionName'),
    concurrency: integer('concurrency', 1, 64),
    metricsListen: { host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port: Number(match[2]) },
    historyTtlSeconds: integer('historyTtlSeconds', 0, 365 * 24 * 3600),
    historyLimit: integer('historyLimit', 0, 10_000),
    namespaces,
    kubeconfig: raw('kubeconfig'),
  };
}
