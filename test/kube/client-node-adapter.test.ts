/**
 * The embedded API server through @kubernetes/client-node (the project's adapter, and
 * client-node's own informer): the API semantics the controller and receiver depend on.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeInformer, CustomObjectsApi, type KubernetesObject } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { GuardedInformer, withoutManagedFields } from '../../src/kube/guarded-informer.js';
import {
  KubeApiError,
  type KubeClient,
  type KubeObject,
  type WatchEvent,
} from '../../src/kube/kube-client.js';
import { loadKubeConfig } from '../../src/kube/load-kube-config.js';
import { createClientNodeKubeClient } from '../../src/kube/client-node-kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { PROJECT_ROOT } from '../support/kubectl.js';

let server: EmbeddedApiServer;
let kube: KubeClient;

const DR = RESOURCE_TYPES.deployRequests;

function request(name: string): KubeObject {
  return {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployRequest',
    metadata: { name, namespace: 'shop' },
    spec: {
      target: { kind: 'Deployment', name: 'web' },
      images: [{ container: 'web', image: 'ghcr.io/acme/web:1.1.0' }],
      source: { type: 'kubernetes' },
    },
  };
}

async function until(predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !predicate(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!predicate()) throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  kube = createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: server.kubeconfig() }));
  for (const file of readdirSync(join(PROJECT_ROOT, 'crds'))) {
    await kube.create(
      RESOURCE_TYPES.customResourceDefinitions,
      parse(readFileSync(join(PROJECT_ROOT, 'crds', file), 'utf8')),
    );
  }
  await kube.create(RESOURCE_TYPES.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shop' },
  });
});

afterAll(async () => {
  await server.close();
});

describe('client-node against the embedded API server', () => {
  test('create, get, list with label selectors; get of a missing object is undefined', async () => {
    const created = await kube.create<KubeObject>(DR, {
      ...request('crud-1'),
      metadata: { name: 'crud-1', namespace: 'shop', labels: { team: 'web' } },
    });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.generation).toBe(1);
    expect((await kube.get(DR, 'shop', 'crud-1'))?.metadata.resourceVersion).toBe(
      created.metadata.resourceVersion,
    );
    const listed = await kube.list(DR, 'shop', { labelSelector: 'team=web' });
    expect(listed.items.map((item) => item.metadata.name)).toEqual(['crud-1']);
    expect(Number(listed.resourceVersion)).toBeGreaterThanOrEqual(Number(created.metadata.resourceVersion));
    expect(await kube.get(DR, 'shop', 'missing')).toBeUndefined();
    const namespace = await kube.get(RESOURCE_TYPES.namespaces, undefined, 'shop');
    expect((namespace?.status as { phase: string }).phase).toBe('Active');
  });

  test('create of an existing name is 409 AlreadyExists', async () => {
    await kube.create(DR, request('dup-1'));
    const error = await kube.create(DR, request('dup-1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).code).toBe(409);
    expect((error as KubeApiError).reason).toBe('AlreadyExists');
  });

  test('a write with a stale resourceVersion is 409 Conflict', async () => {
    const created = await kube.create(DR, request('stale-1'));
    await kube.patch(DR, 'shop', 'stale-1', { status: { phase: 'Queued' } }, 'merge', {
      subresource: 'status',
    });
    const error = await kube
      .replace(DR, { ...created, status: { phase: 'Deploying' } }, { subresource: 'status' })
      .catch((e: unknown) => e);
    expect((error as KubeApiError).code).toBe(409);
    expect((error as KubeApiError).reason).toBe('Conflict');
    expect(((await kube.get(DR, 'shop', 'stale-1'))?.status as { phase: string }).phase).toBe('Queued');
  });

  test('spec changes bump generation, status writes do not; each endpoint ignores the other half', async () => {
    const deployments = RESOURCE_TYPES.deployments;
    const deployment = await kube.create<KubeObject>(deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'gen', namespace: 'shop' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'gen' } },
        template: {
          metadata: { labels: { app: 'gen' } },
          spec: { containers: [{ name: 'web', image: 'a:1' }] },
        },
      },
      status: { replicas: 99 },
    });
    expect(deployment.metadata.generation).toBe(1);
    expect((deployment.status as Record<string, unknown>).replicas).toBeUndefined();
    // Status through /status: generation stays, spec changes in the same body are ignored.
    const statusWrite = await kube.patch<KubeObject>(
      deployments,
      'shop',
      'gen',
      { spec: { replicas: 5 }, status: { observedGeneration: 1, replicas: 1 } },
      'merge',
      { subresource: 'status' },
    );
    expect(statusWrite.metadata.generation).toBe(1);
    expect((statusWrite.spec as { replicas: number }).replicas).toBe(1);
    expect((statusWrite.status as { replicas: number }).replicas).toBe(1);
    // Spec through the main endpoint: generation bumps, status in the same body is ignored.
    const specWrite = await kube.patch<KubeObject>(
      deployments,
      'shop',
      'gen',
      {
        spec: { template: { spec: { containers: [{ name: 'web', image: 'a:2' }] } } },
        status: { replicas: 7 },
      },
      'strategic',
    );
    expect(specWrite.metadata.generation).toBe(2);
    expect((specWrite.status as { replicas: number }).replicas).toBe(1);
    // Metadata-only changes do not bump generation.
    const labelWrite = await kube.patch<KubeObject>(
      deployments,
      'shop',
      'gen',
      { metadata: { labels: { x: 'y' } } },
      'merge',
    );
    expect(labelWrite.metadata.generation).toBe(2);
  });

  test('strategic merge patch on a custom resource is 415; merge and JSON patches work', async () => {
    await kube.create(DR, request('patch-1'));
    const error = await kube
      .patch(DR, 'shop', 'patch-1', { metadata: { labels: { a: 'b' } } }, 'strategic')
      .catch((e: unknown) => e);
    expect((error as KubeApiError).code).toBe(415);
    const merged = await kube.patch(DR, 'shop', 'patch-1', { metadata: { labels: { a: 'b' } } }, 'merge');
    expect(merged.metadata.labels).toEqual({ a: 'b' });
    const jsonPatched = await kube.patch(
      DR,
      'shop',
      'patch-1',
      [{ op: 'add', path: '/metadata/annotations', value: { c: 'd' } }],
      'json',
    );
    expect(jsonPatched.metadata.annotations).toEqual({ c: 'd' });
    const invalid = await kube
      .patch(DR, 'shop', 'patch-1', { spec: { reason: 'changed' } }, 'merge')
      .catch((e: unknown) => e);
    expect((invalid as KubeApiError).code).toBe(422);
    expect((invalid as KubeApiError).message).toContain('spec is immutable');
  });

  test('watch resumes from a resourceVersion and delivers every later change in order', async () => {
    const first = await kube.create(DR, request('watch-a'));
    await kube.create(DR, request('watch-b'));
    await kube.delete(DR, 'shop', 'watch-a');
    const events: Array<WatchEvent<KubeObject>> = [];
    const handle = await kube.watch(
      DR,
      'shop',
      { resourceVersion: first.metadata.resourceVersion },
      (event) => events.push(event),
      () => undefined,
    );
    try {
      await until(() => events.length >= 2, 'two events');
      expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual([
        'ADDED watch-b',
        'DELETED watch-a',
      ]);
      await kube.create(DR, request('watch-c'));
      await until(() => events.length >= 3, 'a third event');
      expect(events[2]?.type).toBe('ADDED');
      expect(events[2]?.object.metadata.name).toBe('watch-c');
    } finally {
      handle.stop();
    }
  });

  test('a resume point older than the watch history is 410 Gone; the guarded informer relists', async () => {
    const old = await kube.create(DR, request('gone-1'));
    await kube.create(DR, request('gone-2'));
    server.compactWatchHistory();
    const closed = new Promise<Error | undefined>((resolve) => {
      void kube.watch(
        DR,
        'shop',
        { resourceVersion: old.metadata.resourceVersion },
        () => undefined,
        resolve,
      );
    });
    const error = await closed;
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).code).toBe(410);

    const lifecycle: string[] = [];
    const informer = new GuardedInformer<KubeObject>({
      kube,
      type: DR,
      namespace: 'shop',
      initialBackoffMs: 10,
      onLifecycle: (e) => lifecycle.push(e),
    });
    // Every watch stream is cut after one event; the informer resumes, and the resume gets 410.
    server.faults.set({ cutWatchAfterEvents: 1 });
    await informer.start();
    try {
      expect(informer.get('shop', 'gone-2')).toBeDefined();
      server.faults.set({ cutWatchAfterEvents: 1, forceGone: true });
      await kube.create(DR, request('gone-3'));
      await until(() => lifecycle.includes('error'), 'the watch to fail');
      server.faults.clear();
      await kube.create(DR, request('gone-4'));
      await until(
        () => informer.get('shop', 'gone-4') !== undefined,
        'the informer to see gone-4 after relisting',
      );
      expect(lifecycle).toContain('relist');
      expect(informer.get('shop', 'gone-3')).toBeDefined();
    } finally {
      informer.stop();
      server.faults.clear();
    }
  });

  test('an informer with withoutManagedFields caches and hands out objects without managedFields', async () => {
    await kube.create(DR, request('mf-1'), { fieldManager: 'keyless-deploy-receiver' });
    expect((await kube.get(DR, 'shop', 'mf-1'))?.metadata.managedFields).toEqual([
      expect.objectContaining({ manager: 'keyless-deploy-receiver' }),
    ]);
    const seen: KubeObject[] = [];
    const informer = new GuardedInformer<KubeObject>({
      kube,
      type: DR,
      namespace: 'shop',
      transform: withoutManagedFields,
    });
    for (const event of ['add', 'update', 'delete'] as const)
      informer.on(event, (object) => seen.push(object));
    await informer.start();
    try {
      await kube.create(DR, request('mf-2'), { fieldManager: 'keyless-deploy-receiver' });
      await until(() => informer.get('shop', 'mf-2') !== undefined, 'the watch to deliver mf-2');
      await kube.delete(DR, 'shop', 'mf-2');
      await until(() => informer.get('shop', 'mf-2') === undefined, 'the watch to deliver the deletion');
      const names = seen.map((object) => object.metadata.name);
      expect(names).toEqual(expect.arrayContaining(['mf-1', 'mf-2']));
      expect(names.filter((name) => name === 'mf-2')).toHaveLength(2);
      for (const object of [...seen, ...informer.list('shop')]) {
        expect(object.metadata).not.toHaveProperty('managedFields');
        expect(object.metadata.resourceVersion).toBeDefined();
      }
    } finally {
      informer.stop();
    }
  });

  test("client-node's own informer lists and watches DeployRequests", async () => {
    const config = loadKubeConfig({ kubeconfigYaml: server.kubeconfig() });
    const api = config.makeApiClient(CustomObjectsApi);
    const informer = makeInformer<KubernetesObject>(
      config,
      '/apis/keyless.dev/v1alpha1/namespaces/shop/deployrequests',
      () =>
        api.listNamespacedCustomObject({
          group: 'keyless.dev',
          version: 'v1alpha1',
          namespace: 'shop',
          plural: 'deployrequests',
        }),
    );
    const seen = new Set<string>();
    informer.on('add', (object) => seen.add(object.metadata?.name ?? ''));
    await informer.start();
    try {
      await kube.create(DR, request('informer-1'));
      await until(() => seen.has('informer-1'), 'the informer add event');
      expect(seen.has('crud-1')).toBe(true);
    } finally {
      await informer.stop();
    }
  });

  test('finalizers hold deletion: deletionTimestamp first, removal when the last finalizer goes', async () => {
    await kube.create(DR, {
      ...request('final-1'),
      metadata: { name: 'final-1', namespace: 'shop', finalizers: ['keyless.dev/test'] },
    });
    await kube.delete(DR, 'shop', 'final-1');
    const marked = await kube.get(DR, 'shop', 'final-1');
    expect(marked?.metadata.deletionTimestamp).toBeDefined();
    await kube.patch(DR, 'shop', 'final-1', { metadata: { finalizers: null } }, 'merge');
    expect(await kube.get(DR, 'shop', 'final-1')).toBeUndefined();
  });

  test('generateName gives a unique name; a missing namespace is 404', async () => {
    const created = await kube.create<KubeObject>(DR, {
      ...request(''),
      metadata: { generateName: 'gen-', namespace: 'shop' },
    });
    expect(created.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
    const error = await kube
      .create(DR, { ...request('x'), metadata: { name: 'x', namespace: 'nowhere' } })
      .catch((e: unknown) => e);
    expect((error as KubeApiError).code).toBe(404);
  });

  test('sequential calls reuse connections (client-node alone opens one per call)', async () => {
    const fresh = createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: server.kubeconfig() }));
    const before = server.connectionsAccepted();
    for (let i = 0; i < 30; i++) await fresh.list(RESOURCE_TYPES.namespaces, undefined);
    expect(server.connectionsAccepted() - before).toBeLessThanOrEqual(2);
  });

  test('concurrent callers share a bounded set of connections', async () => {
    // undici returns a connection to its pool just after the caller has the answer, so a caller
    // that sends its next call at once can find every connection still busy and open one more:
    // up to about twice the calls in flight, then no more (measured: 25 for 16 callers over 20,000
    // calls). Without reuse this would be one connection per call.
    const fresh = createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: server.kubeconfig() }));
    const before = server.connectionsAccepted();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 25; i++) await fresh.list(RESOURCE_TYPES.namespaces, undefined);
      }),
    );
    expect(server.connectionsAccepted() - before).toBeLessThanOrEqual(16);
  });

  test('a CA file rewritten between calls gets a new connection; unchanged settings keep theirs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kd-ca-'));
    const caFile = join(dir, 'ca.crt');
    writeFileSync(caFile, 'first CA bytes');
    const withCa = server
      .kubeconfig()
      .replace(
        '    insecure-skip-tls-verify: true',
        `    insecure-skip-tls-verify: true\n    certificate-authority: ${caFile}`,
      );
    const client = createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: withCa }));
    // A new dispatcher may open a second connection on its second call; settle first.
    for (let i = 0; i < 3; i++) await client.list(RESOURCE_TYPES.namespaces, undefined);
    const before = server.connectionsAccepted();
    for (let i = 0; i < 5; i++) await client.list(RESOURCE_TYPES.namespaces, undefined);
    expect(server.connectionsAccepted()).toBe(before);
    writeFileSync(caFile, 'rotated CA bytes');
    for (let i = 0; i < 5; i++) await client.list(RESOURCE_TYPES.namespaces, undefined);
    const rotated = server.connectionsAccepted();
    expect(rotated).toBeGreaterThan(before);
    for (let i = 0; i < 5; i++) await client.list(RESOURCE_TYPES.namespaces, undefined);
    expect(server.connectionsAccepted()).toBe(rotated);
    rmSync(dir, { recursive: true, force: true });
  });

  test('unreachable API server is a KubeApiError with code 0', async () => {
    const dead = createClientNodeKubeClient(
      loadKubeConfig({ kubeconfigYaml: server.kubeconfig().replace(/:\d+$/m, ':1') }),
    );
    const error = await dead.list(DR, 'shop').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).code).toBe(0);
  });
});
