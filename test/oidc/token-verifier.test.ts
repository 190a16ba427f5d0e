import { generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  SignJWT,
  base64url,
  decodeJwt,
  exportSPKI,
  importJWK,
  type CryptoKey,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import {
  createTokenVerifier,
  isTokenRejection,
  TokenRejectedError,
  type TokenVerifierOptions,
} from '../../src/oidc/index.js';
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../src/playground/oidc-issuer.js';
import { createMetrics } from '../../src/observability/metrics.js';

const FIXTURES = new URL('../fixtures/github-oidc/', import.meta.url);
const githubJwks = JSON.parse(readFileSync(new URL('jwks.json', FIXTURES), 'utf8')) as JSONWebKeySet;
const githubToken = readFileSync(new URL('token-2023.jwt', FIXTURES), 'utf8').trim();
const githubBadSignature = readFileSync(new URL('token-2023-bad-signature.jwt', FIXTURES), 'utf8').trim();
const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
const GITHUB_AUDIENCE = 'https://github.com/nickolashkraus';
const githubIat = decodeJwt(githubToken).iat as number;
const pinned = () => new Date((githubIat + 10) * 1000);

async function rejection(promise: Promise<unknown>): Promise<TokenRejectedError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TokenRejectedError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('genuine GitHub-signed tokens', () => {
  const options = (extra: Partial<TokenVerifierOptions> = {}): TokenVerifierOptions => ({
    issuers: [GITHUB_ISSUER],
    audience: GITHUB_AUDIENCE,
    staticJwks: githubJwks,
    clock: pinned,
    ...extra,
  });

  test('accepted with the right issuer and audience at the pinned time', async () => {
    const verifier = await createTokenVerifier(options());
    const { identity, claims } = await verifier.verify(githubToken);
    expect(identity).toMatchObject({
      issuer: GITHUB_ISSUER,
      repository: 'nickolashkraus/flask-oidc',
      repositoryId: '588298808',
      repositoryOwner: 'nickolashkraus',
      repositoryOwnerId: '14130403',
      ref: 'refs/heads/output-token',
      eventName: 'workflow_dispatch',
      runId: '3989419862',
      tokenId: '93721cf5-93cc-45e5-b7b6-47849c10e71d',
    });
    expect(claims.jti).toBe('93721cf5-93cc-45e5-b7b6-47849c10e71d');
    expect(verifier.rsaVerifications()).toBe(1);
  });

  test('accepted when the owner is allowed by id or by name (any case)', async () => {
    for (const owner of ['14130403', 'NickolasHKraus']) {
      const verifier = await createTokenVerifier(options({ allowedOwners: [owner] }));
      await expect(verifier.verify(githubToken)).resolves.toBeDefined();
    }
  });

  test('rejected when tampered (changed signature)', async () => {
    const verifier = await createTokenVerifier(options());
    expect((await rejection(verifier.verify(githubBadSignature))).code).toBe('bad_signature');
  });

  test('rejected when a claim is changed but the signature kept', async () => {
    const [h, p, s] = githubToken.split('.') as [string, string, string];
    const payload = JSON.parse(new TextDecoder().decode(base64url.decode(p))) as Record<string, unknown>;
    payload.repository_id = '1';
    const forged = `${h}.${base64url.encode(JSON.stringify(payload))}.${s}`;
    const verifier = await createTokenVerifier(options());
    expect((await rejection(verifier.verify(forged))).code).toBe('bad_signature');
  });

  test('rejected with the wrong audience, without RSA work', async () => {
    const verifier = await createTokenVerifier(options({ audience: 'https://github.com/someone-else' }));
    expect((await rejection(verifier.verify(githubToken))).code).toBe('wrong_audience');
    expect(verifier.rsaVerifications()).toBe(0);
  });

  test("rejected at today's date as expired, without RSA work", async () => {
    const verifier = await createTokenVerifier(options({ clock: undefined }));
    expect((await rejection(verifier.verify(githubToken))).code).toBe('expired');
    expect(verifier.rsaVerifications()).toBe(0);
  });

  test('rejected for a disallowed owner, without RSA work', async () => {
    const verifier = await createTokenVerifier(options({ allowedOwners: ['acme', '42'] }));
    expect((await rejection(verifier.verify(githubToken))).code).toBe('owner_not_allowed');
    expect(verifier.rsaVerifications()).toBe(0);
  });

  test('rejected from an issuer that is not configured (a GHEC enterprise issuer only)', async () => {
    const verifier = await createTokenVerifier(options({ issuers: [`${GITHUB_ISSUER}/acme`] }));
    expect((await rejection(verifier.verify(githubToken))).code).toBe('unknown_issuer');
    expect(verifier.rsaVerifications()).toBe(0);
  });

  test('rejected when the signing key is not in the JWKS', async () => {
    const verifier = await createTokenVerifier(options({ staticJwks: { keys: [] } }));
    expect((await rejection(verifier.verify(githubToken))).code).toBe('unknown_key');
  });
});

describe("GitHub's discovery document (fetch injected, no network)", () => {
  /** A fetch that serves GitHub's discovery document and the fixture JWKS, recording requests. */
  function githubFetch(discovery: Record<string, unknown>, seen: string[]): typeof fetch {
    return (async (input: string | URL | Request) => {
      const url = String(input);
      seen.push(url);
      if (url === `${GITHUB_ISSUER}/.well-known/openid-configuration`) return Response.json(discovery);
      if (url === `${GITHUB_ISSUER}/.well-known/jwks`) return Response.json(githubJwks);
      return new Response('not found', { status: 404 });
    }) as typeof fetch;
  }

  test('verifies the genuine token with keys found through discovery over https', async () => {
    const seen: string[] = [];
    const verifier = await createTokenVerifier({
      issuers: [GITHUB_ISSUER],
      audience: GITHUB_AUDIENCE,
      clock: pinned,
      fetch: githubFetch({ issuer: GITHUB_ISSUER, jwks_uri: `${GITHUB_ISSUER}/.well-known/jwks` }, seen),
    });
    await expect(verifier.verify(githubToken)).resolves.toBeDefined();
    await expect(verifier.verify(githubToken)).resolves.toBeDefined();
    expect(seen).toEqual([
      `${GITHUB_ISSUER}/.well-known/openid-configuration`,
      `${GITHUB_ISSUER}/.well-known/jwks`,
    ]);
  });

  test.each<[string, Record<string, unknown>]>([
    ['jwks_uri on another origin', { issuer: GITHUB_ISSUER, jwks_uri: 'https://evil.example.com/jwks' }],
    [
      'another issuer named',
      { issuer: 'https://evil.example.com', jwks_uri: `${GITHUB_ISSUER}/.well-known/jwks` },
    ],
    ['no jwks_uri', { issuer: GITHUB_ISSUER }],
  ])('refuses a discovery document with %s', async (_name, discovery) => {
    const seen: string[] = [];
    const verifier = await createTokenVerifier({
      issuers: [GITHUB_ISSUER],
      audience: GITHUB_AUDIENCE,
      clock: pinned,
      fetch: githubFetch(discovery, seen),
    });
    expect((await rejection(verifier.verify(githubToken))).code).toBe('issuer_unavailable');
    expect(seen).not.toContain('https://evil.example.com/jwks');
  });
});

describe('configuration', () => {
  test('refuses an empty audience, no issuers and http issuers unless allowed', async () => {
    await expect(createTokenVerifier({ issuers: [GITHUB_ISSUER], audience: '' })).rejects.toThrow(/audience/);
    await expect(createTokenVerifier({ issuers: [], audience: 'a' })).rejects.toThrow(/issuer/);
    await expect(createTokenVerifier({ issuers: ['http://127.0.0.1:1'], audience: 'a' })).rejects.toThrow(
      /https/,
    );
    await expect(createTokenVerifier({ issuers: ['not a url'], audience: 'a' })).rejects.toThrow(/not a URL/);
    await expect(
      createTokenVerifier({ issuers: ['http://127.0.0.1:1'], audience: 'a', allowInsecureIssuer: true }),
    ).resolves.toBeDefined();
  });
});

describe('tokens from the local issuer (discovery, hostile input)', () => {
  let issuer: LocalOidcIssuer;
  const audience = 'keyless-test';
  beforeAll(async () => {
    issuer = await startLocalOidcIssuer();
  });
  afterAll(() => issuer.close());

  const make = (extra: Partial<TokenVerifierOptions> = {}) =>
    createTokenVerifier({ issuers: [issuer.issuer], audience, allowInsecureIssuer: true, ...extra });

  test('accepts a fresh token, fetching keys through discovery once', async () => {
    const verifier = await make();
    const before = issuer.requestCount();
    const { identity } = await verifier.verify(await issuer.mint({}, { audience }));
    expect(identity.repository).toBe('acme/web');
    await verifier.verify(await issuer.mint({}, { audience }));
    expect(issuer.requestCount() - before).toBe(2); // discovery + jwks, then cached
  });

  test.each([
    ['GHES', '/_services/token'],
    ['GHEC enterprise', '/acme-enterprise'],
  ])('%s-style issuer path works by configuration', async (_kind, suffix) => {
    const ghes = `${issuer.issuer}${suffix}`;
    const verifier = await createTokenVerifier({
      issuers: [ghes],
      audience,
      allowInsecureIssuer: true,
      staticJwks: issuer.jwks,
    });
    const token = await issuer.mint({ iss: ghes }, { audience });
    expect((await verifier.verify(token)).identity.issuer).toBe(ghes);
    // The bare host issuer is a different issuer.
    expect((await rejection(verifier.verify(await issuer.mint({}, { audience })))).code).toBe(
      'unknown_issuer',
    );
  });

  test('alg none, HS256 with the public key, unknown alg are refused before RSA work', async () => {
    const verifier = await make();
    const good = await issuer.mint({}, { audience });
    const [, payload] = good.split('.') as [string, string];
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${payload}.`;
    // The classic confusion attack: HMAC keyed with the issuer's public key (PEM text).
    const spki = await exportSPKI((await importJWK(issuer.jwks.keys[0]!, 'RS256')) as CryptoKey);
    const hs = await new SignJWT(decodeJwt(good))
      .setProtectedHeader({ alg: 'HS256', kid: issuer.kid })
      .sign(new TextEncoder().encode(spki));
    for (const token of [none, hs]) {
      const error = await rejection(verifier.verify(token));
      expect(error.code).toBe('malformed');
      expect(error.message).toMatch(/RS256 only/);
    }
    expect(verifier.rsaVerifications()).toBe(0);
  });

  test('unknown kid refreshes at most once per cooldown', async () => {
    let now = Date.now();
    const verifier = await make({ clock: () => new Date(now), refreshCooldownMs: 60_000 });
    await verifier.verify(await issuer.mint({}, { audience }));
    const before = issuer.requestCount();
    for (let i = 0; i < 5; i += 1) {
      const error = await rejection(
        verifier.verify(await issuer.mint({}, { audience, kid: `made-up-${i}` })),
      );
      expect(error.code).toBe('unknown_key');
    }
    // The key cache was fresh: the first unknown kid may refresh after the cooldown only.
    expect(issuer.requestCount() - before).toBe(0);
    now += 61_000;
    await rejection(
      verifier.verify(await issuer.mint({}, { audience, kid: 'made-up-x', issuedAt: new Date(now) })),
    );
    expect(issuer.requestCount() - before).toBe(2);
  });

  test('survives an issuer outage on cached keys; without cached keys answers issuer_unavailable', async () => {
    let now = Date.now();
    const verifier = await make({ clock: () => new Date(now), keyMaxAgeMs: 1000, refreshCooldownMs: 0 });
    await verifier.verify(await issuer.mint({}, { audience }));
    issuer.setAvailable(false);
    try {
      now += 5000; // cache is stale: a refresh is attempted, fails, old keys stay
      await expect(
        verifier.verify(await issuer.mint({}, { audience, issuedAt: new Date(now) })),
      ).resolves.toBeDefined();
      const cold = await make();
      expect((await rejection(cold.verify(await issuer.mint({}, { audience })))).code).toBe(
        'issuer_unavailable',
      );
    } finally {
      issuer.setAvailable(true);
    }
  });

  test('jku, x5u and embedded jwk headers are ignored (keys only from the issuer)', async () => {
    const attacker = await startLocalOidcIssuer();
    try {
      const verifier = await make();
      const forged = await attacker.signRaw(
        { ...decodeJwt(await issuer.mint({}, { audience })) },
        {
          kid: issuer.kid,
          jku: `${attacker.issuer}/.well-known/jwks`,
          x5u: `${attacker.issuer}/cert.pem`,
          jwk: attacker.jwks.keys[0],
        },
      );
      expect((await rejection(verifier.verify(forged))).code).toBe('bad_signature');
      expect(attacker.requestCount()).toBe(0);
    } finally {
      await attacker.close();
    }
  });

  test('time claims: expired, not yet valid (nbf and iat) with tolerance', async () => {
    const verifier = await make({ clockToleranceSeconds: 30 });
    const now = Date.now();
    expect(
      (await rejection(verifier.verify(await issuer.mint({}, { audience, expiresInSeconds: -60 })))).code,
    ).toBe('expired');
    // Within tolerance: a token expired 10 s ago still passes.
    await expect(
      verifier.verify(await issuer.mint({}, { audience, issuedAt: new Date(now - 310_000) })),
    ).resolves.toBeDefined();
    const future = await issuer.mint({}, { audience, issuedAt: new Date(now + 3_600_000) });
    expect((await rejection(verifier.verify(future))).code).toBe('not_yet_valid');
    const nbf = await issuer.signRaw({
      ...decodeJwt(await issuer.mint({}, { audience })),
      nbf: Math.floor(now / 1000) + 600,
    });
    expect((await rejection(verifier.verify(nbf))).code).toBe('not_yet_valid');
    expect(verifier.rsaVerifications()).toBe(1);
  });

  test('missing required claims and claims of the wrong type are refused', async () => {
    const verifier = await make();
    const base = decodeJwt(await issuer.mint({}, { audience }));
    for (const claim of [
      'jti',
      'sub',
      'repository',
      'repository_id',
      'repository_owner_id',
      'ref',
      'sha',
      'run_id',
      'exp',
      'iat',
    ]) {
      const { [claim]: _removed, ...rest } = base;
      const error = await rejection(verifier.verify(await issuer.signRaw(rest)));
      expect([claim, error.code]).toEqual([claim, 'missing_claim']);
      expect(error.message).toContain(claim);
    }
    const wrongTypes: Record<string, unknown>[] = [
      { repository_id: 2000002 },
      { repository_owner_id: ['1'] },
      { run_id: null },
      { environment: { name: 'prod' } },
      { exp: '9999999999' },
      { aud: [1] },
      { repository_id: '12a' },
      { repository: 'acme' },
      { repository: 'evil/web' },
      { ref: 'x'.repeat(2000) },
    ];
    for (const change of wrongTypes) {
      const error = await rejection(verifier.verify(await issuer.signRaw({ ...base, ...change })));
      expect([change, error.code]).toEqual([
        change,
        expect.stringMatching(/invalid_claim|missing_claim|wrong_audience/),
      ]);
    }
  });

  test('malformed and oversized tokens are refused without RSA work', async () => {
    const verifier = await make();
    for (const token of [
      '',
      'abc',
      'a.b',
      'a.b.c.d',
      '!!!.???.***',
      `${'a'.repeat(20_000)}.b.c`,
      'eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.sig',
    ]) {
      expect((await rejection(verifier.verify(token))).code).toBe('malformed');
    }
    expect(verifier.rsaVerifications()).toBe(0);
  });

  test('precheck returns, as a value, the refusal verify throws for every token refused without RSA work', async () => {
    const verifier = await make();
    const good = await issuer.mint({}, { audience });
    const [header, payload] = good.split('.') as [string, string];
    const refusedCheaply = [
      '',
      'a.b',
      `${'x'.repeat(400)}.${'x'.repeat(400)}.${'x'.repeat(400)}`,
      `${header}.${base64url.encode('[1,2]')}.sig`,
      `${header}.${base64url.encode('{"iss": ')}.sig`,
      `${base64url.encode(' {"alg":"RS256"}')}.${payload}.sig`,
      await issuer.mint({ iss: 'https://token.actions.example.com' }, { audience }),
      await issuer.mint({}, { audience: 'someone-else' }),
      await issuer.mint({}, { audience, expiresInSeconds: -3600 }),
      await issuer.mint({ repository: 'other/web', repository_owner: 'acme' }, { audience }),
    ];
    for (const token of refusedCheaply) {
      const value = verifier.precheck(token);
      if (!isTokenRejection(value)) throw new Error(`precheck passed ${token.slice(0, 40)}`);
      expect(value).not.toBeInstanceOf(Error);
      const thrown = await rejection(verifier.verify(token));
      expect({ code: value.code, message: value.message }).toEqual({
        code: thrown.code,
        message: thrown.message,
      });
    }
    expect(verifier.rsaVerifications()).toBe(0);
    // Only the signature can decide these: a good token and a good one with another signature.
    const other = await issuer.mint({}, { audience });
    const forged = `${header}.${payload}.${other.split('.')[2]!}`;
    for (const token of [good, forged]) expect(verifier.precheck(token)).toMatchObject({ token });
    // The rest of verify, as values: the good token's identity, the forged one's refusal.
    const prechecked = verifier.precheck(good);
    const forgedChecked = verifier.precheck(forged);
    if (isTokenRejection(prechecked) || isTokenRejection(forgedChecked)) throw new Error('refused');
    expect(await verifier.checkSignature(prechecked)).toMatchObject({ identity: { repository: 'acme/web' } });
    const refused = await verifier.checkSignature(forgedChecked);
    expect(refused).toEqual({ code: 'bad_signature', message: 'token signature does not verify' });
    expect(refused).not.toBeInstanceOf(Error);
  });

  test('a signature of the wrong length, empty, or from another key is a bad signature', async () => {
    const verifier = await make();
    const good = await issuer.mint({}, { audience });
    const input = good.slice(0, good.lastIndexOf('.'));
    const signature = good.slice(good.lastIndexOf('.') + 1);
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const foreign = sign('sha256', Buffer.from(input), otherKey).toString('base64url');
    for (const token of [
      `${input}.`,
      `${input}.${signature.slice(0, -8)}`,
      `${input}.${signature}AAAA`,
      `${input}.${foreign}`,
    ]) {
      expect((await rejection(verifier.verify(token))).code).toBe('bad_signature');
    }
    await expect(verifier.verify(good)).resolves.toBeDefined();
  });

  test('RSA keys under 2048 bits are not imported: their tokens name an unknown key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'weak', alg: 'RS256', use: 'sig' };
    const verifier = await make({ staticJwks: { keys: [jwk as JWK] } });
    const payload = decodeJwt(await issuer.mint({}, { audience }));
    const input = `${base64url.encode(JSON.stringify({ alg: 'RS256', kid: 'weak' }))}.${base64url.encode(JSON.stringify(payload))}`;
    const token = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    expect((await rejection(verifier.verify(token))).code).toBe('unknown_key');
  });

  test('time is checked again after the signature: a token that expired while its keys were fetched is refused', async () => {
    let now = Date.now();
    const verifier = await make({
      clock: () => new Date(now),
      // The key fetch takes "two hours": the token (10 minutes) expires meanwhile.
      fetch: async (input, init) => {
        now += 2 * 3600 * 1000;
        return fetch(input, init);
      },
    });
    const token = await issuer.mint({}, { audience, expiresInSeconds: 600 });
    expect(isTokenRejection(verifier.precheck(token))).toBe(false);
    expect((await rejection(verifier.verify(token))).code).toBe('expired');
    expect(verifier.rsaVerifications()).toBe(1);
  });

  test('counts RSA verifications in the metrics registry', async () => {
    const metrics = createMetrics();
    const verifier = await make({ metrics });
    await verifier.verify(await issuer.mint({}, { audience }));
    await rejection(verifier.verify(await issuer.mint({}, { audience: 'other' })));
    const text = await metrics.render();
    expect(text).toMatch(/keyless_oidc_rsa_verifications_total 1/);
    expect(text).toMatch(/keyless_oidc_verification_seconds_count\{outcome="verified"\} 1/);
  });
});
