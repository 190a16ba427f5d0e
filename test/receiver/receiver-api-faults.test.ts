/**
 * The receiver when the API server fails (injected faults of the embedded API server, reached over
 * HTTP through the client-node adapter): 503 with Retry-After, and nothing half-created. On a real
 * kube-apiserver the same outcome is shown by the restart suite (test/cluster/restarts.test.ts).
 */
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { createKubeClient } from '../../src/kube/load-kube-config.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { installCrds } from '../../src/playground/playground.js';
import { goodBody, seedPolicy, startHarness, webPolicy, type Harness } from './support/harness.js';

let server: EmbeddedApiServer;
let kube: KubeClient;
let h: Harness;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  kube = createKubeClient({ kubeconfigYaml: server.kubeconfig() });
  await installCrds(kube);
  await kube.create(RESOURCE_TYPES.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shop' },
  });
  await seedPolicy(kube, webPolicy('shop'));
  h = await startHarness(kube);
});
afterAll(async () => {
  await h?.close();
  await server?.close();
});

test.each([
  ['create', 'deployrequests', 500],
  ['create', 'deployrequests', 503],
  ['list', 'deploypolicies', 500],
] as const)('API server answering %s %s with %d: 503, nothing half-created', async (verb, resource, code) => {
  const before = (await kube.list(RESOURCE_TYPES.deployRequests, 'shop')).items.length;
  server.faults.set({ errors: [{ verb, resource, rate: 1, code }] });
  let answer: Awaited<ReturnType<Harness['dispatch']>>;
  try {
    answer = await h.dispatch(goodBody(), await h.token());
  } finally {
    server.faults.clear();
  }
  expect(answer.status).toBe(503);
  expect(answer.headers.get('retry-after')).toBe('5');
  expect(answer.body).toMatchObject({
    error: 'unavailable',
    message: expect.stringMatching(/Kubernetes API/),
  });
  expect((await kube.list(RESOURCE_TYPES.deployRequests, 'shop')).items.length).toBe(before);
});
