/**
 * Receiver settings from flags and environment variables (flags win). Every setting has both; a
 * missing or invalid one throws `ConfigError` naming the flag and the variable, so start-up stops
 * with a message an operator can act on.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { GITHUB_ACTIONS_ISSUER, checkIssuerUrl } from '../oidc/token-verifier.js';

/** A setting is missing or invalid. `setting` is `--flag / ENV_VAR`. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

export interface ReceiverConfig {
  listen: { host: string; port: number };
  issuers: string[];
  audience: string;
  allowedOwners: string[];
  /** Namespaces requests may target; empty for all. */
  namespaces: string[];
  allowInsecureIssuer: boolean;
  /** Path and content of the static JWKS, when configured. */
  jwksFile?: string;
  staticJwks?: JSONWebKeySet;
  attestationKeyFile: string;
  /** PEM content of the attestation key (checked to be Ed25519). */
  attestationKeyPem: string;
  /** Kubeconfig path; absent means in-cluster configuration. */
  kubeconfig?: string;
  clockToleranceSeconds: number;
  keyRefreshCooldownSeconds: number;
  maxBodyBytes: number;
  rateLimitPerMinute: number;
  rateLimitBurst: number;
  maxWaitSeconds: number;
  /** Base URL used in `statusUrl`; relative URLs when absent. */
  publicUrl?: string;
  shutdownTimeoutSeconds: number;
}

/** Flag values as a CLI parser hands them over (kebab-case or camelCase keys). */
export type Flags = Record<string, string | boolean | string[] | undefined>;

/** Every receiver setting: flag, environment variable, default. Also the source of docs/configuration.md. */
export const RECEIVER_SETTINGS = {
  listen: { flag: 'listen', env: 'KEYLESS_LISTEN', default: '0.0.0.0:8080' },
  issuers: { flag: 'oidc-issuers', env: 'KEYLESS_OIDC_ISSUERS', default: GITHUB_ACTIONS_ISSUER },
  audience: { flag: 'oidc-audience', env: 'KEYLESS_OIDC_AUDIENCE', default: undefined },
  jwksFile: { flag: 'oidc-jwks-file', env: 'KEYLESS_OIDC_JWKS_FILE', default: undefined },
  allowInsecureIssuer: {
    flag: 'allow-insecure-issuer',
    env: 'KEYLESS_ALLOW_INSECURE_ISSUER',
    default: 'false',
  },
  allowedOwners: { flag: 'allowed-owners', env: 'KEYLESS_ALLOWED_OWNERS', default: '' },
  namespaces: { flag: 'namespaces', env: 'KEYLESS_NAMESPACES', default: '' },
  attestationKeyFile: {
    flag: 'attestation-key-file',
    env: 'KEYLESS_ATTESTATION_KEY_FILE',
    default: undefined,
  },
  kubeconfig: { flag: 'kubeconfig', env: 'KUBECONFIG', default: undefined },
  clockToleranceSeconds: { flag: 'oidc-clock-tolerance', env: 'KEYLESS_OIDC_CLOCK_TOLERANCE', default: '60' },
  keyRefreshCooldownSeconds: {
    flag: 'oidc-key-refresh-cooldown',
    env: 'KEYLESS_OIDC_KEY_REFRESH_COOLDOWN',
    default: '60',
  },
  maxBodyBytes: { flag: 'max-body-bytes', env: 'KEYLESS_MAX_BODY_BYTES', default: '65536' },
  rateLimitPerMinute: { flag: 'rate-limit-per-minute', env: 'KEYLESS_RATE_LIMIT_PER_MINUTE', default: '30' },
  rateLimitBurst: { flag: 'rate-limit-burst', env: 'KEYLESS_RATE_LIMIT_BURST', default: '10' },
  maxWaitSeconds: { flag: 'max-wait', env: 'KEYLESS_MAX_WAIT_SECONDS', default: '60' },
  publicUrl: { flag: 'public-url', env: 'KEYLESS_PUBLIC_URL', default: undefined },
  shutdownTimeoutSeconds: { flag: 'shutdown-timeout', env: 'KEYLESS_SHUTDOWN_TIMEOUT', default: '10' },
} as const;

type SettingName = keyof typeof RECEIVER_SETTINGS;

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Load and validate the receiver's configuration. Reads the JWKS and attestation key files. */
export function loadReceiverConfig(env: NodeJS.ProcessEnv, flags: Flags = {}): ReceiverConfig {
  const label = (name: SettingName) => `--${RECEIVER_SETTINGS[name].flag} / ${RECEIVER_SETTINGS[name].env}`;
  const raw = (name: SettingName): string | undefined => {
    const setting = RECEIVER_SETTINGS[name];
    const flag = flags[setting.flag] ?? flags[camel(setting.flag)];
    if (flag !== undefined) return Array.isArray(flag) ? flag.join(',') : String(flag);
    const value = env[setting.env];
    if (value !== undefined && value !== '') return value;
    return setting.default;
  };
  const required = (name: SettingName): string => {
    const value = raw(name)?.trim();
    if (!value) throw new ConfigError(label(name), 'is required');
    return value;
  };
  const integer = (name: SettingName, min: number, max: number): number => {
    const text = required(name);
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
      throw new ConfigError(label(name), `must be a whole number from ${min} to ${max}, got '${text}'`);
    }
    return value;
  };
  const boolean = (name: SettingName): boolean => {
    const text = (raw(name) ?? 'false').trim().toLowerCase();
    if (['true', '1', 'yes'].includes(text)) return true;
    if (['false', '0', 'no', ''].includes(text)) return false;
    throw new ConfigError(label(name), `must be true or false, got '${text}'`);
  };
  const list = (name: SettingName): string[] =>
    (raw(name) ?? '')
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');

  const listen = parseListen(required('listen'), label('listen'));
  const allowInsecureIssuer = boolean('allowInsecureIssuer');
  const issuers = list('issuers');
  if (issuers.length === 0) throw new ConfigError(label('issuers'), 'needs at least one issuer URL');
  for (const issuer of issuers) {
    try {
      checkIssuerUrl(issuer, allowInsecureIssuer);
    } catch (error) {
      const hint = issuer.startsWith('http:')
        ? ` (set ${label('allowInsecureIssuer')} for local use only)`
        : '';
      throw new ConfigError(label('issuers'), `${(error as Error).message}${hint}`);
    }
  }
  const audience = required('audience');

  const allowedOwners = list('allowedOwners');
  for (const owner of allowedOwners) {
    if (!/^[A-Za-z0-9-]{1,39}$/.test(owner)) {
      throw new ConfigError(label('allowedOwners'), `'${owner}' is not a GitHub owner name or id`);
    }
  }

  const namespaces = list('namespaces');
  for (const namespace of namespaces) {
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
      throw new ConfigError(label('namespaces'), `'${namespace}' is not a namespace name`);
    }
  }

  const config: ReceiverConfig = {
    listen,
    issuers,
    audience,
    allowedOwners,
    namespaces,
    allowInsecureIssuer,
    attestationKeyFile: '',
    attestationKeyPem: '',
    clockToleranceSeconds: integer('clockToleranceSeconds', 0, 300),
    keyRefreshCooldownSeconds: integer('keyRefreshCooldownSeconds', 1, 3600),
    maxBodyBytes: integer('maxBodyBytes', 1024, 1024 * 1024),
    rateLimitPerMinute: integer('rateLimitPerMinute', 0, 100_000),
    rateLimitBurst: integer('rateLimitBurst', 1, 100_000),
    maxWaitSeconds: integer('maxWaitSeconds', 0, 3600),
    shutdownTimeoutSeconds: integer('shutdownTimeoutSeconds', 0, 600),
  };

  const jwksFile = raw('jwksFile')?.trim();
  if (jwksFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(jwksFile, 'utf8'));
    } catch (error) {
      throw new ConfigError(
        label('jwksFile'),
        `cannot read JWKS from ${jwksFile}: ${(error as Error).message}`,
      );
    }
    const keys = (parsed as { keys?: unknown })?.keys;
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new ConfigError(label('jwksFile'), `${jwksFile} is not a JWKS with keys`);
    }
    config.jwksFile = jwksFile;
    config.staticJwks = parsed as JSONWebKeySet;
  }

  const keyFile = required('attestationKeyFile');
  let pem: string;
  try {
    pem = readFileSync(keyFile, 'utf8');
  } catch (error) {
    throw new ConfigError(label('attestationKeyFile'), `cannot read ${keyFile}: ${(error as Error).message}`);
  }
  let keyType: string | undefined;
  try {
    keyType = createPrivateKey({ key: pem, format: 'pem' }).asymmetricKeyType;
  } catch {
    throw new ConfigError(label('attestationKeyFile'), `${keyFile} is not a PEM private key`);
  }
  if (keyType !== 'ed25519') {
    throw new ConfigError(label('attestationKeyFile'), `${keyFile} must hold an Ed25519 key, not ${keyType}`);
  }
  config.attestationKeyFile = keyFile;
  config.attestationKeyPem = pem;

  const kubeconfig = raw('kubeconfig')?.trim();
  if (kubeconfig) config.kubeconfig = kubeconfig;
  const publicUrl = raw('publicUrl')?.trim();
  if (publicUrl) {
    let url: URL;
    try {
      url = new URL(publicUrl);
    } catch {
      throw new ConfigError(label('publicUrl'), `'${publicUrl}' is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new ConfigError(label('publicUrl'), 'must be an http(s) URL');
    }
    config.publicUrl = publicUrl.replace(/\/+$/, '');
  }
  return config;
}

/** `host:port`, `[v6]:port` or `:port`. */
function parseListen(text: string, setting: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new ConfigError(setting, `must be host:port, got '${text}'`);
  return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
}
