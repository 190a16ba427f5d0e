/**
 * Receiver settings from flags and environment variables (flags win). Every setting has both; a
 * missing or invalid one throws `ConfigError` naming the flag and the variable, so start-up stops
 * with a message an operator can act on.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JSONWebKeySet } from 'jose';
import { GITHUB_ACTIONS_ISSUER, checkIssuerUrl } from '../oidc/token-verifier.js';
import { ConfigError, type Flags } from '../settings/config-error.js';
import { settingsReader } from '../settings/settings-reader.js';

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
  /** Largest GitHub webhook body. */
  webhookMaxBodyBytes: number;
  /** Bodies read at once before their sender is authenticated; past it 503. */
  maxConcurrentBodyReads: number;
  /** Seconds a request body may take to arrive; then 408. */
  bodyTimeoutSeconds: number;
  rateLimitPerMinute: number;
  rateLimitBurst: number;
  maxWaitSeconds: number;
  /** Base URL used in `statusUrl`; relative URLs when absent. */
  publicUrl?: string;
  shutdownTimeoutSeconds: number;
}

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
  webhookMaxBodyBytes: {
    flag: 'github-webhook-max-body-bytes',
    env: 'KEYLESS_GITHUB_WEBHOOK_MAX_BODY_BYTES',
    default: '65536',
  },
  maxConcurrentBodyReads: {
    flag: 'max-concurrent-body-reads',
    env: 'KEYLESS_MAX_CONCURRENT_BODY_READS',
    default: '32',
  },
  bodyTimeoutSeconds: { flag: 'body-timeout', env: 'KEYLESS_BODY_TIMEOUT', default: '10' },
  rateLimitPerMinute: { flag: 'rate-limit-per-minute', env: 'KEYLESS_RATE_LIMIT_PER_MINUTE', default: '30' },
  rateLimitBurst: { flag: 'rate-limit-burst', env: 'KEYLESS_RATE_LIMIT_BURST', default: '10' },
  maxWaitSeconds: { flag: 'max-wait', env: 'KEYLESS_MAX_WAIT_SECONDS', default: '60' },
  publicUrl: { flag: 'public-url', env: 'KEYLESS_PUBLIC_URL', default: undefined },
  shutdownTimeoutSeconds: { flag: 'shutdown-timeout', env: 'KEYLESS_SHUTDOWN_TIMEOUT', default: '10' },
} as const;

/** Load and validate the receiver's configuration. Reads the JWKS and attestation key files. */
export function loadReceiverConfig(env: NodeJS.ProcessEnv, flags: Flags = {}): ReceiverConfig {
  const { label, raw, required, integer, boolean, list, namespaces, listen, url, file } = settingsReader(
    RECEIVER_SETTINGS,
    env,
    flags,
  );

  const listenAt = listen('listen');
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

  const served = namespaces('namespaces');

  const config: ReceiverConfig = {
    listen: listenAt,
    issuers,
    audience,
    allowedOwners,
    namespaces: served,
    allowInsecureIssuer,
    attestationKeyFile: '',
    attestationKeyPem: '',
    clockToleranceSeconds: integer('clockToleranceSeconds', 0, 300),
    keyRefreshCooldownSeconds: integer('keyRefreshCooldownSeconds', 1, 3600),
    maxBodyBytes: integer('maxBodyBytes', 1024, 1024 * 1024),
    webhookMaxBodyBytes: integer('webhookMaxBodyBytes', 16 * 1024, 1024 * 1024),
    maxConcurrentBodyReads: integer('maxConcurrentBodyReads', 1, 10_000),
    bodyTimeoutSeconds: integer('bodyTimeoutSeconds', 1, 120),
    rateLimitPerMinute: integer('rateLimitPerMinute', 0, 100_000),
    rateLimitBurst: integer('rateLimitBurst', 1, 100_000),
    maxWaitSeconds: integer('maxWaitSeconds', 0, 3600),
    shutdownTimeoutSeconds: integer('shutdownTimeoutSeconds', 0, 600),
  };

  const jwksFile = raw('jwksFile');
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
  const pem = file('attestationKeyFile', keyFile);
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

  const kubeconfig = raw('kubeconfig');
  if (kubeconfig) config.kubeconfig = kubeconfig;
  const publicUrl = raw('publicUrl');
  if (publicUrl) config.publicUrl = url('publicUrl', publicUrl);
  return config;
}
