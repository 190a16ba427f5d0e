/** `spec.requestedAt` (new in this API): malformed or oversized values are refused and nothing is stored. */
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { isKubeError, type KubeClient } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { installCrds } from '../../src/playground/playground.js';

let server: EmbeddedApiServer;
let kube: KubeClient;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  kube = server.kubeClient();
  await installCrds(kube);
  await kube.create(RESOURCE_TYPES.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shop' },
  });
});

afterAll(async () => {
  await server.close();
});

const request = (requestedAt: unknown) => ({
  apiVersion: 'keyless.dev/v1alpha1',
  kind: 'DeployRequest',
  metadata: { name: 'r', namespace: 'shop' },
  spec: {
    target: { kind: 'Deployment', name: 'web' },
    images: [{ container: 'web', image: 'ghcr.io/acme/web:1.0.0' }],
    source: { type: 'kubernetes' },
    requestedAt,
  },
});

test.each([
  ['not a date', 'yesterday'],
  ['a number', 1732300000000],
  ['oversized', `2026-11-22T20:00:00.000Z${'0'.repeat(100)}`],
  ['a script', '<script>alert(1)</script>'],
])('%s is refused (422) and nothing is stored', async (_name, value) => {
  const error = await kube.create(RESOURCE_TYPES.deployRequests, request(value)).catch((e: unknown) => e);
  expect(isKubeError(error, 422)).toBe(true);
  expect((error as Error).message).toContain('spec.requestedAt');
  expect((await kube.list(RESOURCE_TYPES.deployRequests, 'shop')).items).toEqual([]);
});

test('an RFC 3339 time with milliseconds is stored as given', async () => {
  const created = await kube.create(RESOURCE_TYPES.deployRequests, request('2026-11-22T20:00:00.123Z'));
  expect((created.spec as { requestedAt: string }).requestedAt).toBe('2026-11-22T20:00:00.123Z');
});
