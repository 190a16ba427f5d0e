/**
 * GitHub App settings, shared by the receiver (webhook secret) and the controller (App id and
 * private key, to report deployment statuses). Every one a flag and an environment variable (flags
 * win); all optional: without an App id nothing is reported, without a webhook secret the webhook
 * endpoint answers 404. Secrets are read from files (mounted Secrets), never from variables.
 */
import { createPrivateKey } from 'node:crypto';
import { ConfigError, type Flags } from '../settings/config-error.js';
import { settingsReader } from '../settings/settings-reader.js';

export const GITHUB_DOT_COM_API = 'https://api.github.com';

/** Every GitHub setting: flag, environment variable, default. Also the source of docs/configuration.md. */
export const GITHUB_SETTINGS = {
  appId: { flag: 'github-app-id', env: 'KEYLESS_GITHUB_APP_ID', default: undefined },
  privateKeyFile: {
    flag: 'github-private-key-file',
    env: 'KEYLESS_GITHUB_PRIVATE_KEY_FILE',
    default: undefined,
  },
  webhookSecretFile: {
    flag: 'github-webhook-secret-file',
    env: 'KEYLESS_GITHUB_WEBHOOK_SECRET_FILE',
    default: undefined,
  },
  apiUrl: { flag: 'github-api-url', env: 'KEYLESS_GITHUB_API_URL', default: GITHUB_DOT_COM_API },
  logUrl: { flag: 'github-log-url', env: 'KEYLESS_GITHUB_LOG_URL', default: undefined },
  webhookMaxAgeSeconds: {
    flag: 'github-webhook-max-age',
    env: 'KEYLESS_GITHUB_WEBHOOK_MAX_AGE',
    default: '3600',
  },
} as const;

export interface GitHubSettings {
  /** API base URL without trailing slash: https://api.github.com, or https://HOST/api/v3 for GHES. */
  apiUrl: string;
  /** App id and PKCS#1/PKCS#8 PEM private key, when the App reports deployments. */
  app?: { appId: string; privateKeyPem: string };
  /** HMAC secret of the App's webhooks, when the receiver accepts them. */
  webhookSecret?: string;
  /** `log_url` of deployment statuses, with `{namespace}` and `{name}` placeholders. */
  logUrlTemplate?: string;
  /** Deployment events older than this are refused (a replayed old event must not redeploy). */
  webhookMaxAgeSeconds: number;
}

/** Load and validate; throws ConfigError naming the flag and variable. Reads the secret files. */
export function loadGitHubSettings(env: NodeJS.ProcessEnv, flags: Flags = {}): GitHubSettings {
  const { label, raw, url, file } = settingsReader(GITHUB_SETTINGS, env, flags);

  const maxAge = raw('webhookMaxAgeSeconds') ?? '';
  if (!/^\d+$/.test(maxAge) || Number(maxAge) < 60 || Number(maxAge) > 7 * 24 * 3600)
    throw new ConfigError(
      label('webhookMaxAgeSeconds'),
      `must be seconds from 60 to 604800, got '${maxAge}'`,
    );
  const settings: GitHubSettings = {
    apiUrl: url('apiUrl', raw('apiUrl') ?? GITHUB_DOT_COM_API),
    webhookMaxAgeSeconds: Number(maxAge),
  };

  const appId = raw('appId');
  const keyFile = raw('privateKeyFile');
  if (appId !== undefined || keyFile !== undefined) {
    if (!appId || !/^\d{1,12}$/.test(appId))
      throw new ConfigError(label('appId'), `must be the App's numeric id${appId ? `, got '${appId}'` : ''}`);
    if (!keyFile) throw new ConfigError(label('privateKeyFile'), 'is required with an App id');
    const pem = file('privateKeyFile', keyFile);
    let type: string | undefined;
    try {
      type = createPrivateKey(pem).asymmetricKeyType;
    } catch {
      throw new ConfigError(label('privateKeyFile'), `${keyFile} is not a PEM private key`);
    }
    if (type !== 'rsa')
      throw new ConfigError(label('privateKeyFile'), `${keyFile} must hold the App's RSA key, not ${type}`);
    settings.app = { appId, privateKeyPem: pem };
  }

  const secretFile = raw('webhookSecretFile');
  if (secretFile) {
    const secret = file('webhookSecretFile', secretFile).trim();
    if (secret.length < 16)
      throw new ConfigError(
        label('webhookSecretFile'),
        `${secretFile} must hold a secret of at least 16 characters`,
      );
    settings.webhookSecret = secret;
  }

  const logUrl = raw('logUrl');
  if (logUrl) {
    url('logUrl', logUrl.replace(/\{(namespace|name)\}/g, 'x'));
    settings.logUrlTemplate = logUrl;
  }
  return settings;
}
