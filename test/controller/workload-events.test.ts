/**
 * The controller maps workload informer events to the requests of that workload by the resource
 * the informer watches, not by the object's `kind`: a real API server's list answers carry no
 * `kind` on items of built-in kinds, so every object an informer got from a list (its first list,
 * a relist after 410 Gone, a resync) has none. Here every watch stays silent, and the poll interval
 * is 10 minutes: once the first reconcile waits for the rollout, the only thing that can wake the
 * request is the relist of Deployments the test forces after the rollout finished.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import type { DeployRequest } from '../../src/api/types.js';
import { startController, type RunningController } from '../../src/controller/controller-manager.js';
import {
  KubeApiError,
  type KubeClient,
  type KubeObject,
  type WatchHandle,
} from '../../src/kube/kube-client.js';
import { createKubeClient } from '../../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';
import { PROJECT_ROOT } from '../support/kubectl.js';

type Request = DeployRequest & KubeObject;

/**
 * A KubeClient whose watches open and never deliver an event; `expire(plural)` ends the open
 * watches of a resource with 410 Gone, as a real server does after compaction (informers relist).
 */
function silentWatches(kube: KubeClient): KubeClient & { expire(plural: string): number } {
  const open = new Map<string, Set<(error?: Error) => void>>();
  return {
    ...kube,
    async watch(type, _namespace, _options, _onEvent, onClose): Promise<WatchHandle> {
      const closers = open.get(type.plural) ?? new Set();
      open.set(type.plural, closers);
      closers.add(onClose);
      return { stop: () => closers.delete(onClose) };
    },
    expire(plural) {
      const closers = [...(open.get(plural) ?? [])];
      open.get(plural)?.clear();
      for (const close of closers) close(new KubeApiError('too old resource version: 1', 410, 'Expired'));
      return closers.length;
    },
  };
}

let server: EmbeddedApiServer;
let kube: KubeClient;
let controller: RunningController | undefined;

beforeAll(async () => {
  // No simulated workload controller: the test writes the workload's status itself, when it wants.
  server = await startEmbeddedApiServer({ workloads: false });
  kube = createKubeClient({ kubeconfigYaml: server.kubeconfig() });
  for (const file of ['deployrequests.keyless.dev.yaml', 'deploypolicies.keyless.dev.yaml']) {
    for (const document of parseAllDocuments(readFileSync(join(PROJECT_ROOT, 'crds', file), 'utf8'))) {
      const crd = document.toJS() as KubeObject;
      if (crd) await kube.create(RESOURCE_TYPES.customResourceDefinitions, crd);
    }
  }
});

afterAll(async () => {
  await controller?.stop();
  await server.close();
});

test('a workload update seen only as a list item (no kind) still wakes the requests of that workload', async () => {
  await kube.create(RESOURCE_TYPES.namespaces, { metadata: { name: 'shop' } });
  await kube.create(RESOURCE_TYPES.deployPolicies, {
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
      subjects: [{ repositoryId: '100000001' }],
      allowManual: true,
      images: { repositories: ['ghcr.io/acme/web'] },
    },
  });
  await kube.create(RESOURCE_TYPES.deployments, {
    metadata: { name: 'web', namespace: 'shop' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:1.0.0' }] },
      },
    },
  });
  // What an informer gets from a list really is an item without a kind.
  const listed = await kube.list<KubeObject>(RESOURCE_TYPES.deployments, 'shop');
  expect(listed.items[0]?.kind).toBeUndefined();
  await kube.create(RESOURCE_TYPES.deployRequests, {
    metadata: { name: 'by-hand', namespace: 'shop' },
    spec: {
      target: { kind: 'Deployment', name: 'web' },
      images: [{ container: 'web', image: 'ghcr.io/acme/web:2.0.0' }],
      source: { type: 'kubernetes' },
    },
  });

  const silent = silentWatches(kube);
  const metrics = createMetrics();
  const requeued = async (): Promise<number> => {
    const counter = await metrics.registry.getSingleMetric('keyless_controller_reconciles_total')?.get();
    return counter?.values.find((value) => value.labels.outcome === 'requeue')?.value ?? 0;
  };
  controller = await startController({
    kube: silent,
    attestationKeys: [],
    logger: silentLogger(),
    metrics,
    pollMs: 600_000,
    resyncMs: 0,
  });
  await controller.synced;
  // The first reconcile (from the initial list of requests) patched the workload and now waits
  // for its rollout, requeued 10 minutes ahead; no watch will deliver anything.
  await until(async () => ((await requeued()) >= 1 ? true : undefined));
  const deploying = await kube.get<Request>(RESOURCE_TYPES.deployRequests, 'shop', 'by-hand');
  expect(deploying?.status?.phase).toBe('Deploying');
  expect(deploying?.status?.deployedGeneration).toBe(2);

  // The rollout completes (as the workload controller would report it).
  const workload = (await kube.get<KubeObject>(RESOURCE_TYPES.deployments, 'shop', 'web')) as KubeObject;
  await kube.replace(
    RESOURCE_TYPES.deployments,
    {
      ...workload,
      status: {
        observedGeneration: workload.metadata.generation,
        replicas: 1,
        updatedReplicas: 1,
        readyReplicas: 1,
        availableReplicas: 1,
      },
    },
    { subresource: 'status' },
  );

  // The informer relists Deployments: the changed workload arrives as a list item without a kind.
  expect(silent.expire('deployments')).toBe(1);
  const done = await until(async () => {
    const request = await kube.get<Request>(RESOURCE_TYPES.deployRequests, 'shop', 'by-hand');
    return request?.status?.phase === 'Succeeded' ? request : undefined;
  });
  expect(done.status?.phase).toBe('Succeeded');
});

/** Poll `check` until it returns a value (10 s at most). */
async function until<T>(check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not reached within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
