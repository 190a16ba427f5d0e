/** Which informer events queue which requests (a hand-written informer double drives the routing). */
import type { DeployRequest } from '../../src/api/types.js';
import { routeEvents } from '../../src/controller/event-routing.js';
import type { InformerEvent } from '../../src/kube/guarded-informer.js';
import type { KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import type { Informer } from '../../src/kube/scoped-informer.js';

type Request = DeployRequest & KubeObject;

/** An informer whose cache and events the test sets. */
class FakeInformer<T extends KubeObject> implements Informer<T> {
  readonly objects: T[] = [];
  private readonly handlers: Record<InformerEvent, Array<(object: T, old?: T) => void>> = {
    add: [],
    update: [],
    delete: [],
  };
  readonly hasSynced = true;
  on(event: InformerEvent, handler: (object: T, old?: T) => void): this {
    this.handlers[event].push(handler);
    return this;
  }
  emit(event: InformerEvent, object: T, old?: T): void {
    for (const handler of this.handlers[event]) handler(object, old);
  }
  get(namespace: string | undefined, name: string): T | undefined {
    return this.objects.find((o) => o.metadata.namespace === namespace && o.metadata.name === name);
  }
  list(namespace?: string): T[] {
    return this.objects.filter((o) => namespace === undefined || o.metadata.namespace === namespace);
  }
  async start(): Promise<void> {}
  stop(): void {}
}

function request(name: string, phase?: string, resourceVersion = '1', target = 'web'): Request {
  return {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployRequest',
    metadata: { name, namespace: 'shop', resourceVersion },
    spec: {
      target: { kind: 'Deployment', name: target },
      images: [{ container: 'web', image: 'ghcr.io/acme/web:2' }],
      source: { type: 'kubernetes' },
    },
    ...(phase ? { status: { phase: phase as never } } : {}),
  };
}

function setup() {
  const requests = new FakeInformer<Request>();
  const policies = new FakeInformer<KubeObject>();
  const deployments = new FakeInformer<KubeObject>();
  const statefulSets = new FakeInformer<KubeObject>();
  const queued: string[] = [];
  const reported: string[] = [];
  routeEvents(
    {
      requests,
      policies,
      workloads: [
        { type: RESOURCE_TYPES.deployments, informer: deployments },
        { type: RESOURCE_TYPES.statefulSets, informer: statefulSets },
      ],
    },
    { reconcile: (key) => queued.push(key), report: (r) => reported.push(r.metadata.name ?? '') },
  );
  return { requests, policies, deployments, statefulSets, queued, reported };
}

test('a new open request is queued and offered to the reporter; a finished one only offered', () => {
  const { requests, queued, reported } = setup();
  requests.emit('add', request('open'));
  requests.emit('add', request('done', 'Succeeded'));
  expect(queued).toEqual(['shop/open']);
  expect(reported).toEqual(['open', 'done']);
});

test('a request that moves queues the open requests of its workload', () => {
  const { requests, queued } = setup();
  requests.objects.push(request('queued', 'Queued'), request('other-workload', 'Queued', '1', 'api'));
  const before = request('holder', 'Deploying', '5');
  requests.emit('update', request('holder', 'Succeeded', '6'), before);
  expect(queued).toEqual(['shop/queued']);
});

test('an update that changed only Ready/Reconciling/Stalled queues nothing (the failed key keeps its backoff)', () => {
  const { requests, queued, reported } = setup();
  const before = request('failing', 'Deploying', '5');
  const after = {
    ...request('failing', 'Deploying', '6'),
    status: {
      phase: 'Deploying' as const,
      conditions: [
        {
          type: 'Ready',
          status: 'False' as const,
          reason: 'ReconciliationFailed',
          message: 'x',
          lastTransitionTime: 't',
        },
      ],
    },
  };
  requests.objects.push(after);
  requests.emit('update', after, before);
  expect(queued).toEqual([]);
  expect(reported).toEqual(['failing']);
  // A resync (the same version again) reconciles as usual.
  requests.emit('update', after, after);
  expect(queued).toContain('shop/failing');
});

test('a policy change queues the open requests of its namespace', () => {
  const { requests, policies, queued } = setup();
  requests.objects.push(request('a'), request('b', 'Failed'));
  policies.emit('update', { metadata: { name: 'policy', namespace: 'shop' } });
  expect(queued).toEqual(['shop/a']);
});

test("workload events are mapped by the informer's resource type, not the object's kind (list items may lack it)", () => {
  const { requests, deployments, statefulSets, queued } = setup();
  requests.objects.push(request('web-deploy'));
  // No `kind` on the object, as in a list answer.
  statefulSets.emit('update', { metadata: { name: 'web', namespace: 'shop' } });
  expect(queued).toEqual([]);
  deployments.emit('update', { metadata: { name: 'web', namespace: 'shop' } });
  expect(queued).toEqual(['shop/web-deploy']);
});
