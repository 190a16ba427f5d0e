import { mkdtempSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAttestationKeyPair } from '../../src/attestation/index.js';
import { loadReceiverConfig } from '../../src/receiver/index.js';
import { configError } from '../support/config-error.js';

const dir = mkdtempSync(join(tmpdir(), 'keyless-config-'));
const keyFile = join(dir, 'attestation.pem');
const rsaFile = join(dir, 'rsa.pem');
const jwksFile = join(dir, 'jwks.json');
const badJwks = join(dir, 'bad.json');
beforeAll(async () => {
  writeFileSync(keyFile, (await generateAttestationKeyPair()).privateKeyPem);
  writeFileSync(
    rsaFile,
    generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }),
  );
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ kty: 'RSA', kid: 'k', n: 'AQAB', e: 'AQAB' }] }));
  writeFileSync(badJwks, '{"keys": []}');
});

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  KEYLESS_OIDC_AUDIENCE: 'https://keyless.example.com',
  KEYLESS_ATTESTATION_KEY_FILE: keyFile,
  ...extra,
});

test('defaults: github.com issuer, listen 0.0.0.0:8080, no insecure issuers', () => {
  const config = loadReceiverConfig(env());
  expect(config).toMatchObject({
    listen: { host: '0.0.0.0', port: 8080 },
    issuers: ['https://token.actions.githubusercontent.com'],
    audience: 'https://keyless.example.com',
    allowedOwners: [],
    allowInsecureIssuer: false,
    maxBodyBytes: 65536,
    webhookMaxBodyBytes: 65536,
    maxConcurrentBodyReads: 32,
    bodyTimeoutSeconds: 10,
    clockToleranceSeconds: 60,
  });
  expect(config.attestationKeyPem).toMatch(/PRIVATE KEY/);
});

test('flags override environment variables; lists from commas or repeated flags', () => {
  const config = loadReceiverConfig(
    env({ KEYLESS_LISTEN: '127.0.0.1:1', KEYLESS_ALLOWED_OWNERS: 'nobody' }),
    {
      listen: '[::1]:9090',
      'oidc-issuers': [
        'https://token.actions.githubusercontent.com/acme',
        'https://ghe.example.com/_services/token',
      ],
      allowedOwners: 'acme, 1234',
      'oidc-jwks-file': jwksFile,
      'rate-limit-per-minute': '5',
      kubeconfig: '/tmp/kubeconfig',
      'public-url': 'https://deploy.example.com/',
    },
  );
  expect(config).toMatchObject({
    listen: { host: '::1', port: 9090 },
    issuers: ['https://token.actions.githubusercontent.com/acme', 'https://ghe.example.com/_services/token'],
    allowedOwners: ['acme', '1234'],
    jwksFile,
    rateLimitPerMinute: 5,
    kubeconfig: '/tmp/kubeconfig',
    publicUrl: 'https://deploy.example.com',
  });
  expect(config.staticJwks?.keys).toHaveLength(1);
});

test('http issuers only with the insecure switch', () => {
  expect(
    configError(() => loadReceiverConfig(env({ KEYLESS_OIDC_ISSUERS: 'http://127.0.0.1:5556' }))).message,
  ).toMatch(/^--oidc-issuers \/ KEYLESS_OIDC_ISSUERS: .*https.*KEYLESS_ALLOW_INSECURE_ISSUER/);
  const config = loadReceiverConfig(
    env({ KEYLESS_OIDC_ISSUERS: 'http://127.0.0.1:5556', KEYLESS_ALLOW_INSECURE_ISSUER: 'true' }),
  );
  expect(config.allowInsecureIssuer).toBe(true);
});

test.each<[Record<string, string>, RegExp]>([
  [{ KEYLESS_OIDC_AUDIENCE: '' }, /^--oidc-audience \/ KEYLESS_OIDC_AUDIENCE: is required/],
  [
    { KEYLESS_ATTESTATION_KEY_FILE: '' },
    /^--attestation-key-file \/ KEYLESS_ATTESTATION_KEY_FILE: is required/,
  ],
  [
    { KEYLESS_ATTESTATION_KEY_FILE: '/nonexistent/key.pem' },
    /KEYLESS_ATTESTATION_KEY_FILE: cannot read \/nonexistent/,
  ],
  [{ KEYLESS_ATTESTATION_KEY_FILE: jwksFile }, /KEYLESS_ATTESTATION_KEY_FILE: .* is not a PEM private key/],
  [
    { KEYLESS_ATTESTATION_KEY_FILE: rsaFile },
    /KEYLESS_ATTESTATION_KEY_FILE: .* must hold an Ed25519 key, not rsa/,
  ],
  [{ KEYLESS_LISTEN: 'localhost' }, /^--listen \/ KEYLESS_LISTEN: must be host:port/],
  [{ KEYLESS_LISTEN: ':99999' }, /KEYLESS_LISTEN/],
  [{ KEYLESS_OIDC_ISSUERS: ' , ' }, /KEYLESS_OIDC_ISSUERS: needs at least one/],
  [{ KEYLESS_OIDC_ISSUERS: 'token.actions.githubusercontent.com' }, /KEYLESS_OIDC_ISSUERS: .*not a URL/],
  [{ KEYLESS_OIDC_JWKS_FILE: '/nonexistent.json' }, /KEYLESS_OIDC_JWKS_FILE: cannot read JWKS/],
  [{ KEYLESS_OIDC_JWKS_FILE: badJwks }, /KEYLESS_OIDC_JWKS_FILE: .* is not a JWKS with keys/],
  [{ KEYLESS_ALLOW_INSECURE_ISSUER: 'maybe' }, /KEYLESS_ALLOW_INSECURE_ISSUER: must be true or false/],
  [{ KEYLESS_ALLOWED_OWNERS: 'acme,evil/owner' }, /KEYLESS_ALLOWED_OWNERS: 'evil\/owner'/],
  [{ KEYLESS_MAX_BODY_BYTES: '10' }, /KEYLESS_MAX_BODY_BYTES: must be a whole number from 1024/],
  [{ KEYLESS_MAX_BODY_BYTES: '64k' }, /KEYLESS_MAX_BODY_BYTES/],
  [
    { KEYLESS_GITHUB_WEBHOOK_MAX_BODY_BYTES: '1000' },
    /^--github-webhook-max-body-bytes \/ KEYLESS_GITHUB_WEBHOOK_MAX_BODY_BYTES: must be a whole number from 16384/,
  ],
  [
    { KEYLESS_MAX_CONCURRENT_BODY_READS: '0' },
    /^--max-concurrent-body-reads \/ KEYLESS_MAX_CONCURRENT_BODY_READS/,
  ],
  [{ KEYLESS_BODY_TIMEOUT: '600' }, /^--body-timeout \/ KEYLESS_BODY_TIMEOUT: must be a whole number from 1/],
  [{ KEYLESS_OIDC_CLOCK_TOLERANCE: '-1' }, /KEYLESS_OIDC_CLOCK_TOLERANCE/],
  [{ KEYLESS_RATE_LIMIT_BURST: '0' }, /KEYLESS_RATE_LIMIT_BURST/],
  [{ KEYLESS_PUBLIC_URL: 'ftp://x' }, /KEYLESS_PUBLIC_URL: must be an http\(s\) URL/],
])('invalid %j stops start-up naming the setting', (extra, message) => {
  expect(configError(() => loadReceiverConfig(env(extra))).message).toMatch(message);
});

test('KEYLESS_NAMESPACES restricts the namespaces served; a bad name names the setting', () => {
  expect(loadReceiverConfig(env()).namespaces).toEqual([]);
  expect(loadReceiverConfig(env({ KEYLESS_NAMESPACES: 'shop, billing' })).namespaces).toEqual([
    'shop',
    'billing',
  ]);
  expect(configError(() => loadReceiverConfig(env({ KEYLESS_NAMESPACES: 'shop,Kube_System' }))).message).toBe(
    "--namespaces / KEYLESS_NAMESPACES: 'Kube_System' is not a namespace name",
  );
});
