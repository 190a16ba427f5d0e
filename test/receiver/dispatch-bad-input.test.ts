/**
 * The bad-input suite over real HTTP: every case gets the right status and a clear message, and no
 * DeployRequest is created.
 */
import { SignJWT, base64url, decodeJwt, exportSPKI, importJWK, type CryptoKey } from 'jose';
import { KubeApiError } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { createMemoryKube, type MemoryKube } from './support/memory-kube.js';
import { AUDIENCE, DIGEST, goodBody, seedPolicy, startHarness, type Harness } from './support/harness.js';

let kube: MemoryKube;
let h: Harness;
beforeAll(async () => {
  kube = createMemoryKube();
  await seedPolicy(kube);
  h = await startHarness(kube, { rateLimit: { perMinute: 6000, burst: 1000 } });
});
afterAll(() => h.close());

const requests = () => kube.all(RESOURCE_TYPES.deployRequests).length;

async function expectRefused(
  response: Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>,
  status: number,
  message: RegExp,
): Promise<{ body: Record<string, unknown>; headers: Headers }> {
  const before = requests();
  const { status: got, body, headers } = await response;
  expect({ status: got, message: body.message }).toEqual({ status, message: expect.stringMatching(message) });
  expect(typeof body.error).toBe('string');
  expect(body.requestId).toBe(headers.get('x-request-id'));
  expect(requests()).toBe(before);
  return { body, headers };
}

describe('authorization header and token', () => {
  test('no Authorization header: 401 with a Bearer challenge', async () => {
    const { headers } = await expectRefused(h.dispatch(goodBody()), 401, /Bearer token is required/);
    expect(headers.get('www-authenticate')).toBe('Bearer realm="keyless-deploy"');
  });

  test.each([
    ['Basic dXNlcjpwYXNz', /must be "Bearer <token>"/],
    ['Bearer', /must be "Bearer <token>"/],
    ['Bearer a b', /must be "Bearer <token>"/],
    ['Bearer not-a-jwt', /malformed/],
    ['Bearer a.b.c', /malformed/],
  ])('malformed Authorization %s: 401', async (authorization, message) => {
    const { headers } = await expectRefused(
      h.dispatch(goodBody(), undefined, { authorization }),
      401,
      message,
    );
    expect(headers.get('www-authenticate')).toMatch(
      /^Bearer realm="keyless-deploy", error="invalid_token", error_description="/,
    );
  });

  test('alg none: 401', async () => {
    const payload = (await h.token()).split('.')[1];
    const none = `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${payload}.`;
    await expectRefused(h.dispatch(goodBody(), none), 401, /algorithm 'none' is not allowed/);
  });

  test('HS256 signed with the public key: 401', async () => {
    const good = await h.token();
    const spki = await exportSPKI((await importJWK(h.issuer.jwks.keys[0]!, 'RS256')) as CryptoKey);
    const forged = await new SignJWT(decodeJwt(good))
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT', kid: h.issuer.kid })
      .sign(new TextEncoder().encode(spki));
    await expectRefused(h.dispatch(goodBody(), forged), 401, /algorithm 'HS256' is not allowed/);
  });

  test('unknown kid: 401', async () => {
    const token = await h.issuer.mint({}, { audience: AUDIENCE, kid: 'no-such-key' });
    await expectRefused(h.dispatch(goodBody(), token), 401, /unknown_key/);
  });

  test('wrong issuer: 401', async () => {
    const token = await h.issuer.mint(
      { iss: 'https://token.actions.githubusercontent.com' },
      { audience: AUDIENCE },
    );
    await expectRefused(h.dispatch(goodBody(), token), 401, /unknown_issuer/);
  });

  test('wrong audience: 401', async () => {
    await expectRefused(
      h.dispatch(goodBody(), await h.issuer.mint({}, { audience: 'sts.amazonaws.com' })),
      401,
      /wrong_audience/,
    );
  });

  test('expired: 401', async () => {
    const token = await h.issuer.mint({}, { audience: AUDIENCE, expiresInSeconds: -300 });
    await expectRefused(h.dispatch(goodBody(), token), 401, /expired/);
  });

  test('not yet valid: 401', async () => {
    const token = await h.issuer.mint({}, { audience: AUDIENCE, issuedAt: new Date(Date.now() + 3_600_000) });
    await expectRefused(h.dispatch(goodBody(), token), 401, /not_yet_valid/);
  });

  test('tampered payload: 401', async () => {
    const [head, payload, signature] = (await h.token()).split('.') as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload))) as Record<string, unknown>;
    claims.repository_id = '1';
    const forged = `${head}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
    await expectRefused(h.dispatch(goodBody(), forged), 401, /bad_signature/);
  });

  test.each(['repository_id', 'repository_owner_id', 'jti', 'sha', 'run_id', 'ref'])(
    'missing required claim %s: 401',
    async (claim) => {
      await expectRefused(
        h.dispatch(goodBody(), await h.token({ [claim]: undefined })),
        401,
        new RegExp(`missing_claim.*${claim}`),
      );
    },
  );

  test.each<[string, unknown]>([
    ['repository_id', 2000002],
    ['repository_owner_id', true],
    ['environment', ['production']],
    ['ref', { branch: 'main' }],
  ])('claim %s of the wrong type: 401', async (claim, value) => {
    const claims = decodeJwt(await h.token());
    const token = await h.issuer.signRaw({ ...claims, [claim]: value });
    await expectRefused(h.dispatch(goodBody(), token), 401, new RegExp(`invalid_claim.*${claim}`));
  });
});

describe('body', () => {
  test('oversized body: 413', async () => {
    const body = JSON.stringify(goodBody({ reason: 'x'.repeat(70 * 1024) }));
    await expectRefused(h.dispatch(body, await h.token()), 413, /larger than 65536 bytes/);
  });

  test('non-JSON body: 400', async () => {
    await expectRefused(h.dispatch('{"namespace": "shop",', await h.token()), 400, /not valid JSON/);
  });

  test.each(['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', ''])(
    'content type %j: 415',
    async (contentType) => {
      await expectRefused(
        h.dispatch(goodBody(), await h.token(), { 'content-type': contentType }),
        415,
        /application\/json|utf-8/,
      );
    },
  );

  test('unknown fields: 400 naming them', async () => {
    const { body } = await expectRefused(
      h.dispatch(
        goodBody({ replicas: 3, target: { kind: 'Deployment', name: 'web', namespace: 'x' } }),
        await h.token(),
      ),
      400,
      /unknown field/,
    );
    expect(body.details).toEqual(
      expect.arrayContaining([
        { field: 'replicas', message: "unknown field 'replicas'" },
        { field: 'target.namespace', message: "unknown field 'namespace'" },
      ]),
    );
  });

  test.each([
    'ghcr.io/acme/web:',
    'GHCR.io/Acme/Web:latest',
    'ghcr.io/acme/web@sha256:abc',
    'ghcr.io/acme/web@md5:' + 'a'.repeat(32),
    'ghcr.io/acme/web:tag with space',
    'https://ghcr.io/acme/web',
    '',
  ])('bad image reference %j: 400', async (image) => {
    const { body } = await expectRefused(h.dispatch(goodBody({ image }), await h.token()), 400, /^image: /);
    expect(body.details).toEqual([expect.objectContaining({ field: 'image' })]);
  });

  test.each<[Record<string, unknown>, RegExp]>([
    [{ namespace: 'Shop' }, /^namespace: .*DNS-1123 label/],
    [{ namespace: 'a'.repeat(64) }, /^namespace: /],
    [{ namespace: '../kube-system' }, /^namespace: /],
    [{ target: 'Deployment/Web' }, /^target\.name: /],
    [{ target: 'Pod/web' }, /^target\.kind: kind must be one of/],
    [{ target: 'Deployment/web/../x' }, /^target\.name: /],
    [{ target: 42 }, /^target: /],
    [
      { images: [{ container: 'Web', image: `ghcr.io/acme/web@${DIGEST}` }], image: undefined },
      /^images\[0\]\.container: /,
    ],
    [{ container: 'web_1' }, /^container: /],
    [{ images: [], image: undefined }, /^images: at least one image/],
    [{ images: { web: `ghcr.io/acme/web@${DIGEST}` } }, /exactly one of 'image' and 'images'/],
    [{ environment: 'prod\nINFO forged log line' }, /^environment: must not contain control characters/],
    [{ reason: 7 }, /^reason: must be a string/],
    [{ payload: [1, 2] }, /^payload: payload must be an object/],
    [{ payload: { blob: 'x'.repeat(20_000) } }, /^payload: payload must be at most/],
  ])('invalid field (case %#): 400', async (change, message) => {
    await expectRefused(h.dispatch(goodBody(change), await h.token()), 400, message);
  });

  test.each([
    '{"namespace":"shop","target":"web","image":"ghcr.io/acme/web:1","__proto__":{"admin":true}}',
    '{"namespace":"shop","target":"web","image":"ghcr.io/acme/web:1","payload":{"a":{"constructor":{"prototype":{"x":1}}}}}',
    '{"event_type":"deploy","client_payload":{"namespace":"shop","target":"web","image":"ghcr.io/acme/web:1","prototype":1}}',
  ])('__proto__ / constructor / prototype keys: 400 (%#)', async (text) => {
    await expectRefused(
      h.dispatch(text, await h.token()),
      400,
      /key '(__proto__|constructor|prototype)' is not allowed/,
    );
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  test('deeply nested payload: 400', async () => {
    const text = `{"namespace":"shop","target":"web","image":"ghcr.io/acme/web:1","payload":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`;
    await expectRefused(h.dispatch(text, await h.token()), 400, /nested deeper/);
  });

  test('repository_dispatch shape with a bad client_payload: 400 with client_payload paths', async () => {
    const { body } = await expectRefused(
      h.dispatch(
        { event_type: 'deploy', client_payload: { namespace: 'shop', target: 'web', image: 'nope::' } },
        await h.token(),
      ),
      400,
      /^client_payload\.image: invalid image reference/,
    );
    expect(body.details).toEqual([expect.objectContaining({ field: 'client_payload.image' })]);
  });
});

describe('authorisation and the API server', () => {
  test('a token from a repository no policy allows: a generic 403 naming no policy or pinned id; details in the log', async () => {
    const token = await h.token({ repository: 'evil/web', repository_id: '666', repository_owner_id: '667' });
    const { body } = await expectRefused(
      h.dispatch(goodBody(), token),
      403,
      /^no DeployPolicy in namespace shop admits requests from this identity/,
    );
    expect(body.details).toBeUndefined();
    // The policy is named "web" and pins repository id 2000002: neither reaches a stranger.
    expect(JSON.stringify(body)).not.toMatch(/"web"|\bweb\b|2000002/);
    const logged = h.logLines.find(
      (line) => line.includes(String(body.requestId)) && line.includes('denied'),
    );
    expect(logged).toContain('repositoryId \\"666\\" does not match \\"2000002\\"');
  });

  test('a token a policy knows, with a request it refuses: 403 naming the failed condition of that policy', async () => {
    const { body } = await expectRefused(
      h.dispatch(goodBody({ target: 'Deployment/api' }), await h.token()),
      403,
      /admits this request: Target: policy "web" does not govern Deployment "api"/,
    );
    expect(body.details).toEqual([{ policy: 'web', condition: 'Target', message: expect.any(String) }]);
  });

  test('an image from a repository the policy does not allow: 403', async () => {
    await expectRefused(
      h.dispatch(goodBody({ image: `docker.io/evil/web@${DIGEST}` }), await h.token()),
      403,
      /ImageRepository: /,
    );
  });

  test('a namespace without policies: 403', async () => {
    await expectRefused(
      h.dispatch(goodBody({ namespace: 'other' }), await h.token()),
      403,
      /no DeployPolicy in namespace other/,
    );
  });

  test.each([
    ['list', 'policies'],
    ['create', 'create'],
  ] as const)('API server error on %s: 503 and nothing created', async (verb, message) => {
    kube.failures[verb] = new KubeApiError('etcd is sad', 500, 'InternalError');
    try {
      const { headers } = await expectRefused(
        h.dispatch(goodBody(), await h.token()),
        503,
        new RegExp(message, 'i'),
      );
      expect(headers.get('retry-after')).toBe('5');
    } finally {
      kube.failures[verb] = undefined;
    }
  });

  test('API server unreachable (code 0): 503', async () => {
    kube.failures.create = new KubeApiError('connect ECONNREFUSED', 0, 'Unreachable');
    try {
      await expectRefused(h.dispatch(goodBody(), await h.token()), 503, /create/);
    } finally {
      kube.failures.create = undefined;
    }
  });
});
