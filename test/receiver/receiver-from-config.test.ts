import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { generateAttestationKeyPair } from '../../src/attestation/index.js';
import { createLogger } from '../../src/observability/logger.js';
import { startLocalOidcIssuer } from '../../src/playground/oidc-issuer.js';
import { loadReceiverConfig, receiverDepsFromConfig, startReceiver } from '../../src/receiver/index.js';
import { createMemoryKube } from './support/memory-kube.js';
import { evaluatePolicies, parseImageReference } from '../../src/policy/index.js';
import { goodBody, seedPolicy } from './support/harness.js';

test('config -> dependencies -> running receiver; insecure issuer logged loudly; key never logged', async () => {
  const issuer = await startLocalOidcIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'keyless-rfc-'));
  const pair = await generateAttestationKeyPair();
  writeFileSync(join(dir, 'key.pem'), pair.privateKeyPem);
  const lines: string[] = [];
  const logger = createLogger({
    destination: new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) }),
  });
  const config = loadReceiverConfig({
    KEYLESS_LISTEN: '127.0.0.1:0',
    KEYLESS_OIDC_ISSUERS: issuer.issuer,
    KEYLESS_ALLOW_INSECURE_ISSUER: 'true',
    KEYLESS_OIDC_AUDIENCE: 'aud-x',
    KEYLESS_ATTESTATION_KEY_FILE: join(dir, 'key.pem'),
    KEYLESS_ALLOWED_OWNERS: 'acme',
  });
  const kube = createMemoryKube();
  await seedPolicy(kube);
  const deps = await receiverDepsFromConfig(config, { kube, logger, evaluatePolicies, parseImageReference });
  expect(deps.attestationKey.keyId).toBe(pair.keyId);
  const receiver = await startReceiver(config, deps);
  try {
    const post = async (token: string) =>
      (
        await fetch(`${receiver.url}/v1/dispatch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify(goodBody()),
        })
      ).status;
    expect(await post(await issuer.mint({}, { audience: 'aud-x' }))).toBe(202);
    expect(await post(await issuer.mint({ repository: 'other/web' }, { audience: 'aud-x' }))).toBe(401);
  } finally {
    await receiver.close();
    await issuer.close();
  }
  const all = lines.join('');
  expect(all).toMatch(/INSECURE: http OIDC issuers are allowed/);
  expect(all).not.toContain('PRIVATE KEY');
});
