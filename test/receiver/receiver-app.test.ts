/** The receiver over real HTTP: creation, replay, status, rate limits, request ids, logs, metrics. */
import { decodeJwt } from 'jose';
import type { DeployRequest } from '../../src/api/types.js';
import { verifyAttestation } from '../../src/attestation/index.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { createMemoryKube, type MemoryKube } from './support/memory-kube.js';
import { DIGEST, goodBody, seedPolicy, startHarness, webPolicy, type Harness } from './support/harness.js';

let kube: MemoryKube;
let h: Harness;
beforeEach(async () => {
  kube = createMemoryKube();
  await seedPolicy(kube);
  h = await startHarness(kube);
});
afterEach(() => h.close());

const stored = () => kube.all(RESOURCE_TYPES.deployRequests) as unknown as DeployRequest[];

test('a valid dispatch creates one attested DeployRequest with the verified claims, never the token', async () => {
  const token = await h.token({ environment: 'production' });
  const { status, body, headers } = await h.dispatch(
    goodBody({ reason: 'release 1.2.3', payload: { version: '1.2.3' } }),
    token,
  );
  expect(status).toBe(202);
  expect(body).toMatchObject({
    namespace: 'shop',
    name: expect.stringMatching(/^web-[a-z2-7]{20}$/),
    phase: 'Pending',
  });
  expect(body.statusUrl).toBe(`/v1/requests/shop/${body.name as string}`);
  expect(headers.get('location')).toBe(body.statusUrl);
  const [request] = stored();
  expect(stored()).toHaveLength(1);
  expect(request!.metadata).toMatchObject({
    name: body.name,
    namespace: 'shop',
    labels: {
      'keyless.dev/repository-id': '2000002',
      'keyless.dev/token-hash': (body.name as string).slice('web-'.length),
      'keyless.dev/target-kind': 'Deployment',
      'keyless.dev/target-name': 'web',
    },
  });
  expect(request!.spec).toMatchObject({
    target: { kind: 'Deployment', name: 'web' },
    images: [{ container: 'web', image: `ghcr.io/acme/web@${DIGEST}` }],
    reason: 'release 1.2.3',
    payload: { version: '1.2.3' },
    source: {
      type: 'github-oidc',
      github: {
        issuer: h.issuer.issuer,
        repository: 'acme/web',
        repositoryId: '2000002',
        repositoryOwnerId: '1000001',
        environment: 'production',
        tokenId: decodeJwt(token).jti,
      },
    },
  });
  expect(JSON.stringify(request)).not.toContain(token.split('.')[2]);
  expect(await verifyAttestation(request!, h.publicKeys)).toMatchObject({ ok: true });
});

test("GitHub's repository_dispatch shape is accepted (event_type becomes the reason)", async () => {
  const { status } = await h.dispatch(
    {
      event_type: 'deploy-web',
      client_payload: {
        namespace: 'shop',
        target: { kind: 'Deployment', name: 'web' },
        images: [{ container: 'sidecar', image: 'ghcr.io/acme/sidecar:1.0' }],
      },
    },
    await h.token(),
  );
  expect(status).toBe(202);
  expect(stored()[0]!.spec).toMatchObject({
    reason: 'deploy-web',
    images: [{ container: 'sidecar', image: 'ghcr.io/acme/sidecar:1.0' }],
  });
});

test('a replayed token gets the existing request (200, same name), across receiver replicas', async () => {
  const token = await h.token();
  const first = await h.dispatch(goodBody(), token);
  const again = await h.dispatch(goodBody(), token);
  const replica = await startHarnessSharingIssuer(h, kube);
  try {
    const viaReplica = await replica(goodBody(), token);
    expect(first.status).toBe(202);
    for (const replay of [again, viaReplica]) {
      expect(replay.status).toBe(200);
      expect(replay.body).toMatchObject({ name: first.body.name, replayed: true });
    }
    expect(stored()).toHaveLength(1);
    expect(stored()[0]!.spec.images[0]!.image).toBe(`ghcr.io/acme/web@${DIGEST}`);
  } finally {
    await closeReplica?.();
  }
  // Concurrent replays of one fresh token still make one request.
  const fresh = await h.token();
  const answers = await Promise.all([1, 2, 3, 4].map(() => h.dispatch(goodBody(), fresh)));
  expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 202]);
  expect(stored()).toHaveLength(2);
  const text = await (await fetch(`${h.receiver.url}/metrics`)).text();
  expect(text).toMatch(/keyless_receiver_dispatches_total\{outcome="replayed"\} 4/);
  expect(text).toMatch(/keyless_receiver_dispatches_total\{outcome="created"\} 2/);
});

test('a token reused with another body is refused (409 token_reused) naming each field that differs; nothing changes', async () => {
  const token = await h.token({ environment: 'production' });
  const first = await h.dispatch(goodBody({ reason: 'release 1', environment: 'production' }), token);
  expect(first.status).toBe(202);
  const before = JSON.stringify(stored());
  const reused = await h.dispatch(
    goodBody({ image: 'ghcr.io/acme/web:other', reason: 'release 2', environment: 'production' }),
    token,
  );
  expect(reused.status).toBe(409);
  expect(reused.body).toMatchObject({
    error: 'token_reused',
    message: expect.stringContaining(
      `this token already created DeployRequest shop/${first.body.name as string} (web=ghcr.io/acme/web@${DIGEST}); this body differs in images, reason. A token deploys once: mint a new token for every dispatch`,
    ),
    details: [
      {
        field: 'images',
        message: `the first request has web=ghcr.io/acme/web@${DIGEST}, this one web=ghcr.io/acme/web:other`,
      },
      { field: 'reason', message: "differs from the first request's reason" },
    ],
  });
  // Free text is not echoed back.
  expect(JSON.stringify(reused.body)).not.toContain('release 1');
  expect(JSON.stringify(stored())).toBe(before);
  // The receiver-stamped requestedAt and attestation do not count: the same body later is a replay.
  const replay = await h.dispatch(goodBody({ reason: 'release 1', environment: 'production' }), token);
  expect([replay.status, replay.body.name, replay.body.replayed]).toEqual([200, first.body.name, true]);
  const text = await (await fetch(`${h.receiver.url}/metrics`)).text();
  expect(text).toMatch(/keyless_receiver_dispatches_total\{outcome="token_reused"\} 1/);
});

let closeReplica: (() => Promise<void>) | undefined;
/** A second receiver (another replica) on the same API server, trusting the same issuer. */
async function startHarnessSharingIssuer(
  base: Harness,
  sharedKube: MemoryKube,
): Promise<(body: unknown, token: string) => Promise<{ status: number; body: Record<string, unknown> }>> {
  const { startReceiver } = await import('../../src/receiver/index.js');
  const { parseAttestationPrivateKey, generateAttestationKeyPair } =
    await import('../../src/attestation/index.js');
  const { evaluatePolicies, parseImageReference } = await import('../../src/policy/index.js');
  const receiver = await startReceiver(
    { listen: { host: '127.0.0.1', port: 0 } },
    {
      verifier: base.verifier,
      kube: sharedKube,
      attestationKey: await parseAttestationPrivateKey((await generateAttestationKeyPair()).privateKeyPem),
      evaluatePolicies,
      parseImageReference,
    },
  );
  closeReplica = () => receiver.close();
  return async (body, token) => {
    const response = await fetch(`${receiver.url}/v1/dispatch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
}

describe('GET /v1/requests/{namespace}/{name}', () => {
  const get = async (path: string, token?: string) => {
    const response = await fetch(`${h.receiver.url}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
      headers: response.headers,
    };
  };

  test('answers the same repository, 404 for other repositories and unknown names, 401 without token', async () => {
    const { body } = await h.dispatch(goodBody(), await h.token());
    const url = body.statusUrl as string;
    const mine = await get(url, await h.token());
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({
      namespace: 'shop',
      name: body.name,
      phase: 'Pending',
      finished: false,
      target: { kind: 'Deployment', name: 'web' },
    });
    // Same repository name, different repository id (a re-registered name): not the same repository.
    const other = await get(url, await h.token({ repository_id: '999' }));
    expect(other.status).toBe(404);
    expect(other.body.message).toMatch(/not found/);
    expect((await get('/v1/requests/shop/web-nope', await h.token())).status).toBe(404);
    const anonymous = await get(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await get('/v1/requests/Shop/x', await h.token())).status).toBe(400);
    expect((await get(`${url}?wait=soon`, await h.token())).status).toBe(400);
  });

  test('?wait long-polls until the request finishes', async () => {
    const { body } = await h.dispatch(goodBody(), await h.token());
    const key = [...kube.objects.keys()].find((k) => k.includes('/deployrequests/'))!;
    const object = kube.objects.get(key)! as unknown as DeployRequest;
    const token = await h.token();
    // The request moves on while the answer is held: after the handler's first read, and again
    // after it has read the intermediate phase.
    const firstRead = kube.nextCall('get deployrequests');
    const pending = get(`${body.statusUrl as string}?wait=20`, token);
    await firstRead;
    object.status = { phase: 'Deploying' };
    await kube.nextCall('get deployrequests');
    object.status = { phase: 'Succeeded', message: 'rolled out' };
    const answer = await pending;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ phase: 'Succeeded', finished: true, message: 'rolled out' });
  });

  test('?wait answers with the current state when the wait ends', async () => {
    const { body } = await h.dispatch(goodBody(), await h.token());
    const answer = await get(`${body.statusUrl as string}?wait=1`, await h.token());
    expect(answer.body).toMatchObject({ phase: 'Pending', finished: false });
  });
});

test('per-repository rate limit: 429 with Retry-After, other repositories unaffected', async () => {
  await h.close();
  h = await startHarness(kube, { rateLimit: { perMinute: 60, burst: 2 } });
  const statuses: number[] = [];
  let retryAfter: string | null = null;
  for (let i = 0; i < 3; i += 1) {
    const answer = await h.dispatch(goodBody(), await h.token());
    statuses.push(answer.status);
    retryAfter = answer.headers.get('retry-after') ?? retryAfter;
    if (answer.status === 429)
      expect(answer.body).toMatchObject({
        error: 'rate_limited',
        message: expect.stringMatching(/acme\/web/),
      });
  }
  expect(statuses).toEqual([202, 202, 429]);
  expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  await kube
    .create(RESOURCE_TYPES.deployPolicies, webPolicy('shop', { subjects: [{ repositoryId: '55' }] }) as never)
    .catch(() => undefined);
  const other = await h.dispatch(goodBody(), await h.token({ repository: 'acme/api', repository_id: '55' }));
  expect(other.status).not.toBe(429);
});

test('request ids: echoed when valid, generated otherwise, in every answer and log line', async () => {
  const given = await fetch(`${h.receiver.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
  expect(given.headers.get('x-request-id')).toBe('abc-123');
  const hostile = await fetch(`${h.receiver.url}/healthz`, { headers: { 'x-request-id': 'x'.repeat(200) } });
  expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  const notFound = await fetch(`${h.receiver.url}/nope`);
  expect(notFound.status).toBe(404);
  expect(await notFound.json()).toMatchObject({
    error: 'not_found',
    requestId: notFound.headers.get('x-request-id'),
  });
  await h.dispatch(goodBody(), await h.token(), { 'x-request-id': 'dispatch-1' });
  const lines = h.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const dispatchLines = lines.filter((l) => l.requestId === 'dispatch-1');
  expect(dispatchLines.map((l) => l.msg)).toEqual(
    expect.arrayContaining(['DeployRequest created', 'request']),
  );
  const requestLines = lines.filter((l) => l.msg !== 'receiver listening');
  expect(requestLines.every((l) => typeof l.requestId === 'string')).toBe(true);
});

test('logs never contain the token, the Authorization header or the attestation key', async () => {
  const token = await h.token();
  await h.dispatch(goodBody(), token);
  await h.dispatch({ ...goodBody(), extra: token }, token); // a refused one, echoing the token in the body
  await h.dispatch(goodBody(), `${token}x`);
  const all = h.logLines.join('');
  expect(all.length).toBeGreaterThan(0);
  for (const part of token.split('.')) expect(all).not.toContain(part);
  expect(all).not.toMatch(/Bearer /);
  expect(all).not.toMatch(/PRIVATE KEY/);
});

test('/healthz, /readyz and /metrics', async () => {
  expect((await fetch(`${h.receiver.url}/healthz`)).status).toBe(200);
  expect(await (await fetch(`${h.receiver.url}/readyz`)).json()).toEqual({ status: 'ready' });
  await h.dispatch(goodBody(), await h.token());
  await h.dispatch(goodBody(), 'junk');
  const metrics = await fetch(`${h.receiver.url}/metrics`);
  expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
  const text = await metrics.text();
  expect(text).toMatch(/keyless_receiver_dispatches_total\{outcome="created"\} 1/);
  expect(text).toMatch(/keyless_receiver_dispatches_total\{outcome="unauthorized"\} 1/);
  expect(text).toMatch(/keyless_oidc_verification_seconds_count\{outcome="verified"\} 1/);
  expect(text).toMatch(
    /keyless_receiver_http_request_duration_seconds_count\{method="POST",route="dispatch",status="202"\} 1/,
  );
});

test('graceful shutdown: a long poll in flight is answered, then the server stops', async () => {
  const { body } = await h.dispatch(goodBody(), await h.token());
  const token = await h.token();
  // Close once the long poll is being held (the handler has read the request once).
  const held = kube.nextCall('get deployrequests');
  const polling = fetch(`${h.receiver.url}${body.statusUrl as string}?wait=30`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await held;
  const url = h.receiver.url;
  await h.receiver.close();
  const answer = await polling;
  expect(answer.status).toBe(200);
  expect(await answer.json()).toMatchObject({ phase: 'Pending' });
  await expect(fetch(`${url}/healthz`)).rejects.toThrow();
});

test('a receiver restricted to listed namespaces refuses others with 403 and creates nothing', async () => {
  await h.close();
  h = await startHarness(kube, { namespaces: ['billing'] });
  const { status, body } = await h.dispatch(goodBody(), await h.token());
  expect(status).toBe(403);
  expect(body).toMatchObject({
    error: 'forbidden',
    message: 'namespace shop is not served by this receiver (KEYLESS_NAMESPACES)',
  });
  expect(stored()).toEqual([]);
});
