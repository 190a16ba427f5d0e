import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadGitHubSettings } from '../../src/github/github-settings.js';

const dir = mkdtempSync(join(tmpdir(), 'keyless-github-'));
const rsa = join(dir, 'app.pem');
const ed = join(dir, 'ed.pem');
const secret = join(dir, 'secret');
const short = join(dir, 'short');
writeFileSync(
  rsa,
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }),
);
writeFileSync(ed, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
writeFileSync(secret, 'a-long-enough-webhook-secret\n');
writeFileSync(short, 'tiny');

test('nothing set: github.com, no App, no webhooks', () => {
  expect(loadGitHubSettings({})).toEqual({ apiUrl: 'https://api.github.com', webhookMaxAgeSeconds: 3600 });
});

test('everything set, flags winning over variables (GHES API URL)', () => {
  const settings = loadGitHubSettings(
    {
      KEYLESS_GITHUB_APP_ID: '1',
      KEYLESS_GITHUB_PRIVATE_KEY_FILE: rsa,
      KEYLESS_GITHUB_WEBHOOK_SECRET_FILE: secret,
      KEYLESS_GITHUB_API_URL: 'https://ignored.example.com',
    },
    {
      'github-app-id': '123456',
      'github-api-url': 'https://ghe.example.com/api/v3/',
      'github-log-url': 'https://grafana.example.com/d/x?var-ns={namespace}&var-name={name}',
    },
  );
  expect(settings).toMatchObject({
    apiUrl: 'https://ghe.example.com/api/v3',
    app: { appId: '123456', privateKeyPem: expect.stringContaining('RSA PRIVATE KEY') },
    webhookSecret: 'a-long-enough-webhook-secret',
    logUrlTemplate: 'https://grafana.example.com/d/x?var-ns={namespace}&var-name={name}',
  });
});

test.each([
  [
    { KEYLESS_GITHUB_APP_ID: 'acme' },
    "--github-app-id / KEYLESS_GITHUB_APP_ID: must be the App's numeric id, got 'acme'",
  ],
  [
    { KEYLESS_GITHUB_APP_ID: '1' },
    '--github-private-key-file / KEYLESS_GITHUB_PRIVATE_KEY_FILE: is required with an App id',
  ],
  [{ KEYLESS_GITHUB_PRIVATE_KEY_FILE: rsa }, "must be the App's numeric id"],
  [
    { KEYLESS_GITHUB_APP_ID: '1', KEYLESS_GITHUB_PRIVATE_KEY_FILE: ed },
    "must hold the App's RSA key, not ed25519",
  ],
  [{ KEYLESS_GITHUB_APP_ID: '1', KEYLESS_GITHUB_PRIVATE_KEY_FILE: join(dir, 'missing') }, 'cannot read'],
  [{ KEYLESS_GITHUB_WEBHOOK_SECRET_FILE: short }, 'must hold a secret of at least 16 characters'],
  [{ KEYLESS_GITHUB_API_URL: 'ftp://example.com' }, 'must be an http(s) URL'],
  [{ KEYLESS_GITHUB_WEBHOOK_MAX_AGE: '5' }, 'must be seconds from 60 to 604800'],
])('a bad setting names itself: %j', (env, message) => {
  expect(() => loadGitHubSettings(env)).toThrow(message);
});
