/**
 * The dispatch gate in front of express (`src/receiver/dispatch-gate.ts`), over real HTTP: its
 * refusals answer exactly as express's error handler does (status, body, headers, one log line,
 * metrics), it never reads the body of a refused request, and dispatch paths only express routes
 * are still authenticated.
 */
import { request } from 'node:http';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { createMemoryKube, type MemoryKube } from './support/memory-kube.js';
import { goodBody, seedPolicy, startHarness, type Harness } from './support/harness.js';

let kube: MemoryKube;
let h: Harness;
beforeEach(async () => {
  kube = createMemoryKube();
  await seedPolicy(kube);
  h = await startHarness(kube);
});
afterEach(() => h.close());

const stored = () => kube.all(RESOURCE_TYPES.deployRequests);
const logged = () => h.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);

test('a refused token gets the JSON 401 of the API, its request id, no-store and a Bearer challenge, one log line', async () => {
  const expired = await h.issuer.mint({}, { audience: 'keyless-deploy-test', expiresInSeconds: -3600 });
  const { status, body, headers } = await h.dispatch(goodBody(), expired, { 'x-request-id': 'gate-1' });
  expect(status).toBe(401);
  expect(body).toEqual({
    error: 'invalid_token',
    message: 'expired: token has expired',
    requestId: 'gate-1',
  });
  expect(headers.get('x-request-id')).toBe('gate-1');
  expect(headers.get('cache-control')).toBe('no-store');
  expect(headers.get('content-type')).toBe('application/json; charset=utf-8');
  expect(headers.get('www-authenticate')).toBe(
    'Bearer realm="keyless-deploy", error="invalid_token", error_description="expired: token has expired"',
  );
  const lines = logged().filter((l) => l.requestId === 'gate-1');
  expect(lines).toEqual([
    expect.objectContaining({
      msg: 'request refused',
      status: 401,
      code: 'invalid_token',
      path: '/v1/dispatch',
      message: 'expired: token has expired',
    }),
  ]);
  expect(stored()).toHaveLength(0);
  expect(h.verifier.rsaVerifications()).toBe(0);
});

test('no Authorization header: a challenge without an error code (RFC 6750), a generated request id', async () => {
  const { status, body, headers } = await h.dispatch(goodBody());
  expect(status).toBe(401);
  expect(headers.get('www-authenticate')).toBe('Bearer realm="keyless-deploy"');
  expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(headers.get('x-request-id')).toBe(body.requestId);
});

test('a bad signature is refused by the gate after the RSA check, and counted', async () => {
  const good = await h.token();
  const other = await h.token();
  const forged = `${good.slice(0, good.lastIndexOf('.'))}${other.slice(other.lastIndexOf('.'))}`;
  const { status, body } = await h.dispatch(goodBody(), forged);
  expect(status).toBe(401);
  expect(body.message).toBe('bad_signature: token signature does not verify');
  expect(h.verifier.rsaVerifications()).toBe(1);
  expect(stored()).toHaveLength(0);
});

test('refusals are counted in the dispatch and HTTP duration metrics like any other answer', async () => {
  await h.dispatch(goodBody(), 'junk');
  await h.dispatch(goodBody(), 'a.b.c');
  await h.dispatch(goodBody(), await h.token());
  const text = await h.metrics.render();
  expect(text).toMatch(/keyless_receiver_dispatches_total\{outcome="unauthorized"\} 2/);
  expect(text).toMatch(/keyless_receiver_dispatches_total\{outcome="created"\} 1/);
  expect(text).toMatch(
    /keyless_receiver_http_request_duration_seconds_count\{method="POST",route="dispatch",status="401"\} 2/,
  );
  expect(text).toMatch(
    /keyless_receiver_http_request_duration_seconds_count\{method="POST",route="dispatch",status="202"\} 1/,
  );
});

test('the issuer unreachable with no cached keys: 503 with Retry-After from the gate, nothing stored', async () => {
  h.issuer.setAvailable(false);
  const { status, body, headers } = await h.dispatch(goodBody(), await h.token());
  expect(status).toBe(503);
  expect(body.error).toBe('unavailable');
  expect(headers.get('retry-after')).toBe('30');
  expect(stored()).toHaveLength(0);
  expect(await h.metrics.render()).toMatch(/keyless_receiver_dispatches_total\{outcome="unavailable"\} 1/);
});

test('a refused request is answered before its body arrives: the body is never read', async () => {
  const url = new URL(h.receiver.url);
  const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/v1/dispatch',
        headers: {
          authorization: 'Bearer not.a.token',
          'content-type': 'application/json',
          'content-length': String(1024 * 1024),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text });
          // The promised megabyte is never sent: only an answer before the body ends this test.
          req.destroy();
        });
      },
    );
    req.on('error', (error) => (error.message === 'socket hang up' ? undefined : reject(error)));
    req.write('{"namespace":');
  });
  expect(answer.status).toBe(401);
  expect(JSON.parse(answer.text)).toMatchObject({ error: 'invalid_token' });
});

test.each(['/V1/Dispatch', '/v1/dispatch/'])(
  'the spelling %s, which express also routes to the handler, is authenticated there',
  async (path) => {
    const send = async (token: string) =>
      fetch(`${h.receiver.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(goodBody()),
      });
    const refused = await send('junk');
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_token' });
    expect(stored()).toHaveLength(0);
    expect((await send(await h.token())).status).toBe(202);
    expect(stored()).toHaveLength(1);
  },
);
