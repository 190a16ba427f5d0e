/** Events through the in-process API client: what is recorded, and how a hot retry loop is limited. */
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import type { KubeClient, KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { createEventRecorder } from '../../src/runtime/event-recorder.js';

let server: EmbeddedApiServer;
let kube: KubeClient;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  kube = server.kubeClient();
  await kube.create(RESOURCE_TYPES.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'ev' },
  });
});

afterAll(async () => {
  await server.close();
});

const object = (name: string): KubeObject => ({
  apiVersion: 'keyless.dev/v1alpha1',
  kind: 'DeployRequest',
  metadata: { name, namespace: 'ev', uid: `uid-${name}`, resourceVersion: '7' },
});

async function eventsOf(name: string): Promise<Array<Record<string, unknown>>> {
  const { items } = await kube.list<KubeObject>(RESOURCE_TYPES.events, 'ev');
  return items.filter((event) => (event.involvedObject as { name?: string }).name === name);
}

test('an Event names the object, its reason, type and message, and the component', async () => {
  const recorder = createEventRecorder(kube, {
    component: 'keyless-deploy-controller',
    now: () => new Date('2026-12-01T12:00:00.123Z'),
  });
  await recorder.record(object('one'), 'Normal', 'Deploying', 'setting web=ghcr.io/acme/web:2.0.0');
  expect(await eventsOf('one')).toEqual([
    expect.objectContaining({
      type: 'Normal',
      reason: 'Deploying',
      message: 'setting web=ghcr.io/acme/web:2.0.0',
      involvedObject: expect.objectContaining({ kind: 'DeployRequest', name: 'one', uid: 'uid-one' }),
      source: { component: 'keyless-deploy-controller' },
      firstTimestamp: '2026-12-01T12:00:00Z',
      count: 1,
    }),
  ]);
});

test('the same error again within the window is dropped; after the window it is recorded again', async () => {
  let now = Date.parse('2026-12-01T12:00:00Z');
  const recorder = createEventRecorder(kube, {
    component: 'c',
    now: () => new Date(now),
    repeatWindowMs: 60_000,
  });
  const failing = object('retrying');
  for (let attempt = 0; attempt < 10; attempt++) {
    await recorder.record(failing, 'Warning', 'ReconciliationFailed', 'patching Deployment web: refused');
    now += 1000;
  }
  expect(await eventsOf('retrying')).toHaveLength(1);
  // Another error is news, at once.
  await recorder.record(failing, 'Warning', 'ReconciliationFailed', 'reading Deployment web: timeout');
  expect(await eventsOf('retrying')).toHaveLength(2);
  now += 60_000;
  await recorder.record(failing, 'Warning', 'ReconciliationFailed', 'patching Deployment web: refused');
  expect(await eventsOf('retrying')).toHaveLength(3);
});

test('an object emitting ever new messages gets its burst, then one Event per refill period', async () => {
  let now = Date.parse('2026-12-01T12:00:00Z');
  const recorder = createEventRecorder(kube, {
    component: 'c',
    now: () => new Date(now),
    burst: 3,
    refillMs: 10_000,
  });
  const noisy = object('noisy');
  for (let i = 0; i < 8; i++) await recorder.record(noisy, 'Warning', 'ReconciliationFailed', `attempt ${i}`);
  expect(await eventsOf('noisy')).toHaveLength(3);
  now += 10_000;
  for (let i = 8; i < 12; i++)
    await recorder.record(noisy, 'Warning', 'ReconciliationFailed', `attempt ${i}`);
  expect(await eventsOf('noisy')).toHaveLength(4);
  // Other objects have budgets of their own.
  await recorder.record(object('quiet'), 'Normal', 'Deploying', 'x');
  expect(await eventsOf('quiet')).toHaveLength(1);
});

test('an Event the API server refuses is logged and dropped, never thrown', async () => {
  const recorder = createEventRecorder(
    { ...kube, create: () => Promise.reject(new Error('connection refused')) },
    { component: 'c' },
  );
  await expect(recorder.record(object('lost'), 'Normal', 'Deploying', 'x')).resolves.toBeUndefined();
});
