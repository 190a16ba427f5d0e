/**
 * Finding 9 of issue 13: the image recorded is the reference the policy matched, normalised
 * (`acme/web:2` -> `docker.io/acme/web:2`), not the short name as sent; and a number JSON cannot
 * hold (`1e400`) is a 400 naming the field, not a 500. Over real HTTP with issuer-signed tokens.
 */
import type { DeployRequest } from '../../src/api/types.js';
import type { KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { createMemoryKube } from './support/memory-kube.js';
import { seedPolicy, startHarness, webPolicy, type Harness } from './support/harness.js';

let h: Harness;
const kube = createMemoryKube();

beforeAll(async () => {
  await seedPolicy(
    kube,
    webPolicy('shop', { images: { repositories: ['docker.io/acme/web', 'docker.io/library/nginx'] } }),
  );
  h = await startHarness(kube);
});
afterAll(() => h.close());

test.each([
  ['acme/web:2', 'docker.io/acme/web:2'],
  ['docker.io/acme/web:2', 'docker.io/acme/web:2'],
  ['nginx:1.27', 'docker.io/library/nginx:1.27'],
  ['index.docker.io/acme/web:3', 'docker.io/acme/web:3'],
])('%s is recorded as %s', async (image, recorded) => {
  const { status, body } = await h.dispatch(
    { namespace: 'shop', target: 'Deployment/web', images: [{ container: 'web', image }] },
    await h.token(),
  );
  expect(status).toBe(202);
  const stored = await kube.get<DeployRequest & KubeObject>(
    RESOURCE_TYPES.deployRequests,
    'shop',
    String(body.name),
  );
  expect(stored?.spec.images).toEqual([{ container: 'web', image: recorded }]);
});

test.each([
  ['{"namespace":"shop","target":"Deployment/web","image":"acme/web:2","payload":{"x":1e400}}', 'payload.x'],
  [
    '{"namespace":"shop","target":"Deployment/web","image":"acme/web:2","payload":{"a":[1,-1e999]}}',
    'payload.a[1]',
  ],
])('a number out of range (%s) is a 400 naming %s, and creates nothing', async (text, field) => {
  const before = kube.all(RESOURCE_TYPES.deployRequests).length;
  const { status, body } = await h.dispatch(text, await h.token());
  expect(status).toBe(400);
  expect(body).toMatchObject({ error: 'invalid_request', message: `${field}: number out of range` });
  expect(body.details).toEqual([{ field, message: expect.any(String) }]);
  expect(kube.all(RESOURCE_TYPES.deployRequests)).toHaveLength(before);
});
