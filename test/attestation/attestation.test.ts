import { sign } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, compactVerify, generateKeyPair } from 'jose';
import type { DeployRequest, DeployRequestSpec } from '../../src/api/types.js';
import {
  ATTESTATION_TYPE,
  canonicalJson,
  canonicalSpec,
  generateAttestationKeyPair,
  loadAttestationPublicKeys,
  loadAttestationSigningKey,
  parseAttestationPrivateKey,
  parseAttestationPublicKeys,
  signAttestation,
  verifyAttestation,
} from '../../src/attestation/index.js';

const spec = (): DeployRequestSpec => ({
  target: { kind: 'Deployment', name: 'web' },
  images: [{ container: 'web', image: 'ghcr.io/acme/web@sha256:' + 'a'.repeat(64) }],
  environment: 'production',
  payload: { z: 1, a: { c: [1, 'x'], b: null } },
  source: {
    type: 'github-oidc',
    github: {
      issuer: 'https://token.actions.githubusercontent.com',
      repository: 'acme/web',
      repositoryId: '1',
      repositoryOwner: 'acme',
      repositoryOwnerId: '2',
      tokenId: 'j',
    },
  },
});

async function attested(): Promise<{
  request: DeployRequest;
  keys: Awaited<ReturnType<typeof parseAttestationPublicKeys>>;
}> {
  const pair = await generateAttestationKeyPair();
  const signing = await parseAttestationPrivateKey(pair.privateKeyPem);
  const s = spec();
  s.source.attestation = await signAttestation({ namespace: 'shop', name: 'web-abc', spec: s }, signing);
  const request: DeployRequest = {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployRequest',
    metadata: { namespace: 'shop', name: 'web-abc' },
    spec: s,
  };
  return { request, keys: await parseAttestationPublicKeys(pair.publicKeyPem) };
}

test('canonical JSON sorts keys, drops undefined, has no whitespace', () => {
  expect(canonicalJson({ b: 1, a: [true, undefined, 'x'], c: undefined, d: { y: null, x: 1.5 } })).toBe(
    '{"a":[true,null,"x"],"b":1,"d":{"x":1.5,"y":null}}',
  );
  expect(() => canonicalJson({ n: NaN })).toThrow();
  expect(() => canonicalJson({ f: () => 1 })).toThrow();
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  expect(() => canonicalJson(cyclic)).toThrow(/cycles/);
});

test('canonical spec leaves out the attestation and is independent of key order', () => {
  const a = spec();
  const b = JSON.parse(
    JSON.stringify({
      source: a.source,
      payload: a.payload,
      images: a.images,
      environment: a.environment,
      target: a.target,
    }),
  ) as DeployRequestSpec;
  b.source.attestation = 'something';
  expect(canonicalSpec(b)).toBe(canonicalSpec(a));
  expect(canonicalSpec(a)).not.toContain('attestation');
});

test('a signed request verifies, also after a JSON round trip (as stored by the API server)', async () => {
  const { request, keys } = await attested();
  const stored = JSON.parse(JSON.stringify(request)) as DeployRequest;
  const result = await verifyAttestation(stored, keys);
  expect(result).toMatchObject({
    ok: true,
    keyId: keys[0]!.keyId,
    payload: { ns: 'shop', name: 'web-abc', v: 1 },
  });
  const header = JSON.parse(
    Buffer.from(request.spec.source.attestation!.split('.')[0]!, 'base64url').toString(),
  );
  expect(header).toEqual({ alg: 'EdDSA', typ: ATTESTATION_TYPE, kid: keys[0]!.keyId });
});

test.each<[string, (r: DeployRequest) => void, RegExp]>([
  ['changed image', (r) => (r.spec.images[0]!.image = 'evil.io/x:latest'), /changed after attestation/],
  ['changed repository id', (r) => (r.spec.source.github!.repositoryId = '666'), /changed after attestation/],
  ['added payload field', (r) => (r.spec.payload!.extra = true), /changed after attestation/],
  ['other name', (r) => (r.metadata.name = 'web-other'), /another request/],
  ['other namespace', (r) => (r.metadata.namespace = 'prod'), /another request/],
  ['no attestation', (r) => delete r.spec.source.attestation, /no attestation/],
  ['garbage', (r) => (r.spec.source.attestation = 'not-a-jws'), /compact JWS/],
  ['oversized', (r) => (r.spec.source.attestation = 'a'.repeat(10_000)), /too long/],
  [
    'tampered signature',
    (r) => {
      // Change one character well inside the signature (the last one carries padding bits, and a
      // fixed replacement could equal the original), so the signature always changes.
      const jws = r.spec.source.attestation!;
      const at = jws.length - 10;
      r.spec.source.attestation = jws.slice(0, at) + (jws[at] === 'A' ? 'B' : 'A') + jws.slice(at + 1);
    },
    /signature/,
  ],
])('rejected: %s', async (_name, change, reason) => {
  const { request, keys } = await attested();
  change(request);
  const result = await verifyAttestation(request, keys);
  expect(result.ok).toBe(false);
  expect(!result.ok && result.reason).toMatch(reason);
});

test('rejected: signed by another key, or with another typ/alg', async () => {
  const { request } = await attested();
  const other = await parseAttestationPublicKeys((await generateAttestationKeyPair()).publicKeyPem);
  expect(await verifyAttestation(request, other)).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/not trusted/),
  });

  const pair = await generateAttestationKeyPair();
  const signing = await parseAttestationPrivateKey(pair.privateKeyPem);
  const keys = await parseAttestationPublicKeys(pair.publicKeyPem);
  const wrongTyp = await new CompactSign(new TextEncoder().encode('{}'))
    .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: signing.keyId })
    .sign(signing.privateKey);
  request.spec.source.attestation = wrongTyp;
  expect(await verifyAttestation(request, keys)).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/typ/),
  });
  const rsa = await generateKeyPair('RS256');
  request.spec.source.attestation = await new CompactSign(new TextEncoder().encode('{}'))
    .setProtectedHeader({ alg: 'RS256', typ: ATTESTATION_TYPE, kid: signing.keyId })
    .sign(rsa.privateKey);
  expect(await verifyAttestation(request, keys)).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/algorithm/),
  });
});

test('key files: private key for the receiver, public (or derived) keys for the controller', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyless-att-'));
  const a = await generateAttestationKeyPair();
  const b = await generateAttestationKeyPair();
  writeFileSync(join(dir, 'key.pem'), a.privateKeyPem);
  writeFileSync(join(dir, 'pub.pem'), a.publicKeyPem + b.publicKeyPem);
  writeFileSync(join(dir, 'rsa.pem'), (await generateKeyPairPem()).toString());
  writeFileSync(join(dir, 'junk.pem'), 'hello');
  const signing = await loadAttestationSigningKey(join(dir, 'key.pem'));
  expect(signing.keyId).toBe(a.keyId);
  expect((await loadAttestationPublicKeys(join(dir, 'pub.pem'))).map((k) => k.keyId)).toEqual([
    a.keyId,
    b.keyId,
  ]);
  expect((await loadAttestationPublicKeys(join(dir, 'key.pem'))).map((k) => k.keyId)).toEqual([a.keyId]);
  await expect(loadAttestationSigningKey(join(dir, 'missing.pem'))).rejects.toThrow(/missing\.pem/);
  await expect(loadAttestationSigningKey(join(dir, 'junk.pem'))).rejects.toThrow(/junk\.pem.*not a PEM/);
  await expect(loadAttestationSigningKey(join(dir, 'rsa.pem'))).rejects.toThrow(/Ed25519/);
  await expect(loadAttestationPublicKeys(join(dir, 'junk.pem'))).rejects.toThrow(/no PEM key/);
});

async function generateKeyPairPem(): Promise<string> {
  const { generateKeyPairSync } = await import('node:crypto');
  return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
    type: 'pkcs8',
    format: 'pem',
  }) as string;
}

test("the same JWS as jose's CompactSign, so requests attested before and after an upgrade verify either way", async () => {
  const pair = await generateAttestationKeyPair();
  const signing = await parseAttestationPrivateKey(pair.privateKeyPem);
  const keys = await parseAttestationPublicKeys(pair.publicKeyPem);
  const s = spec();
  const now = new Date('2026-12-02T00:00:00Z');
  const ours = await signAttestation({ namespace: 'shop', name: 'web-abc', spec: s }, signing, now);
  const [, payload] = ours.split('.');
  const joseMade = await new CompactSign(Buffer.from(payload!, 'base64url'))
    .setProtectedHeader({ alg: 'EdDSA', typ: ATTESTATION_TYPE, kid: signing.keyId })
    .sign(signing.privateKey);
  // Ed25519 is deterministic: byte for byte the same attestation.
  expect(ours).toBe(joseMade);
  expect((await compactVerify(ours, signing.publicKey)).protectedHeader).toMatchObject({ alg: 'EdDSA' });
  const request: DeployRequest = {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployRequest',
    metadata: { namespace: 'shop', name: 'web-abc' },
    spec: { ...s, source: { ...s.source, attestation: joseMade } },
  };
  expect(await verifyAttestation(request, keys)).toMatchObject({ ok: true, keyId: signing.keyId });
});

test.each([
  ['four parts', (jws: string) => `${jws}.x`],
  ['a signature that is not base64url', (jws: string) => `${jws.slice(0, jws.lastIndexOf('.'))}.!!!!`],
  ['an empty signature', (jws: string) => jws.slice(0, jws.lastIndexOf('.') + 1)],
  ['a header that is not JSON', (jws: string) => `bm90IGpzb24${jws.slice(jws.indexOf('.'))}`],
  ['a payload that is not JSON', (jws: string) => jws.replace(/\.[^.]+\./, '.bm90IGpzb24.')],
])('refused, never thrown: an attestation with %s', async (_what, mangle) => {
  const { request, keys } = await attested();
  request.spec.source.attestation = mangle(request.spec.source.attestation!);
  expect(await verifyAttestation(request, keys)).toMatchObject({ ok: false });
});

test('refused: critical header parameters the verifier does not understand', async () => {
  const pair = await generateAttestationKeyPair();
  const signing = await parseAttestationPrivateKey(pair.privateKeyPem);
  const { request } = await attested();
  const keys = await parseAttestationPublicKeys(pair.publicKeyPem);
  const good = await signAttestation({ namespace: 'shop', name: 'web-abc', spec: request.spec }, signing);
  // Signed by hand: jose itself refuses to sign with an unknown critical parameter.
  const header = Buffer.from(
    JSON.stringify({
      alg: 'EdDSA',
      typ: ATTESTATION_TYPE,
      kid: signing.keyId,
      crit: ['x-keyless'],
      'x-keyless': 1,
    }),
  ).toString('base64url');
  const input = `${header}.${good.split('.')[1]!}`;
  request.spec.source.attestation = `${input}.${sign(null, Buffer.from(input), signing.privateKey).toString('base64url')}`;
  expect(await verifyAttestation(request, keys)).toMatchObject({
    ok: false,
    reason: expect.stringMatching(/critical/),
  });
  request.spec.source.attestation = good;
  expect(await verifyAttestation(request, keys)).toMatchObject({ ok: true });
});
