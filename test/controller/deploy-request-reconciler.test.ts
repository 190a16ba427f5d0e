/**
 * The reconciler's steps one reconcile at a time, against the embedded API server's in-process
 * client (the same semantics as over HTTP, no simulated workload controllers: each test writes the
 * workload's status itself) and an injected clock: what each step decides, what it writes, which
 * Events it records, and what it asks of the queue.
 */
import type { DeployPolicySpec, DeployRequest, DeployRequestSpec } from '../../src/api/types.js';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import {
  DeployRequestReconciler,
  ROLLBACK_ANNOTATION,
} from '../../src/controller/deploy-request-reconciler.js';
import { KubeApiError, type KubeClient, type KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { installApprovalAdmission, installCrds } from '../../src/playground/playground.js';
import type { EventRecorder } from '../../src/runtime/event-recorder.js';
import { GenericError } from '../../src/runtime/reconcile-result.js';
import type { WorkResult } from '../../src/runtime/work-queue.js';
import { untilApprovalAdmissionInForce } from '../support/approval-admission.js';

type Request = DeployRequest & KubeObject;

let server: EmbeddedApiServer;
let store: KubeClient;
let namespaces = 0;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  store = server.kubeClient();
  await installCrds(store);
  // Approvals count only on requests created after the approval admission policy took effect.
  await installApprovalAdmission(store);
  await untilApprovalAdmissionInForce(store, 0);
});

afterAll(async () => {
  await server.close();
});

const POLICY: DeployPolicySpec = {
  targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
  allowManual: true,
  images: { repositories: ['ghcr.io/acme/web'] },
};

/** What a test sees of one reconcile. */
interface Fixture {
  namespace: string;
  kube: KubeClient;
  events: Array<{ object: string; type: string; reason: string; message: string }>;
  /** Calls that reached the API server, as `verb plural[/status]`. */
  calls: string[];
  /** Make the next matching calls fail (until cleared). */
  fail: { patchWorkload?: KubeApiError; listRequests?: KubeApiError };
  clock: { now: Date };
  /** Keys the reconciler queued again (`namespace/name`). */
  requeued: string[];
  reconciler: DeployRequestReconciler;
  /** A new reconciler on the same API server: a new leadership term. */
  newTerm(): void;
  abort: AbortController;
  /** Run one reconcile: its WorkResult, or the error it threw. */
  reconcile(name: string): Promise<WorkResult | GenericError>;
  request(
    name: string,
    spec?: Partial<DeployRequestSpec>,
    annotations?: Record<string, string>,
  ): Promise<void>;
  get(name: string): Promise<Request>;
  /** Write the workload's status as the Deployment controller would. */
  workloadStatus(status: Record<string, unknown>): Promise<void>;
  workload(): Promise<KubeObject>;
}

/** A namespace with a DeployPolicy and a Deployment `web` (2 replicas, image 1.0.0), and a reconciler. */
async function fixture(policy: Partial<DeployPolicySpec> = {}, pollMs = 1000): Promise<Fixture> {
  const namespace = `unit-${++namespaces}`;
  await store.create(RESOURCE_TYPES.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace },
  });
  await store.create(RESOURCE_TYPES.deployPolicies, {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployPolicy',
    metadata: { name: 'policy', namespace },
    spec: { ...POLICY, ...policy },
  });
  await store.create(RESOURCE_TYPES.deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:1.0.0' }] },
      },
    },
  });
  const events: Fixture['events'] = [];
  const calls: string[] = [];
  const fail: Fixture['fail'] = {};
  const clock = { now: new Date('2026-12-01T12:00:00Z') };
  const abort = new AbortController();
  const requeued: string[] = [];
  const kube: KubeClient = {
    ...store,
    get: (type, ns, name) => (calls.push(`get ${type.plural}`), store.get(type, ns, name)),
    list: (type, ns, options) => {
      calls.push(`list ${type.plural}`);
      if (type.plural === 'deployrequests' && fail.listRequests) return Promise.reject(fail.listRequests);
      return store.list(type, ns, options);
    },
    patch: (type, ns, name, patch, patchType, options) => {
      calls.push(`patch ${type.plural}${options?.subresource ? `/${options.subresource}` : ''}`);
      if (type.plural === 'deployments' && fail.patchWorkload) return Promise.reject(fail.patchWorkload);
      return store.patch(type, ns, name, patch, patchType, options);
    },
    replace: (type, object, options) => {
      calls.push(`update ${type.plural}${options?.subresource ? `/${options.subresource}` : ''}`);
      return store.replace(type, object, options);
    },
  };
  const recorder: EventRecorder = {
    async record(object, type, reason, message) {
      events.push({ object: object.metadata.name ?? '', type, reason, message });
    },
  };
  const newReconciler = (): DeployRequestReconciler =>
    new DeployRequestReconciler({
      kube,
      attestationKeys: [],
      events: recorder,
      logger: silentLogger(),
      now: () => clock.now,
      pollMs,
      signal: abort.signal,
      approvalAdmissionSettleSeconds: 0,
      requeue: (key) => requeued.push(key),
    });
  const f: Fixture = {
    namespace,
    kube,
    events,
    calls,
    fail,
    clock,
    requeued,
    reconciler: newReconciler(),
    newTerm() {
      f.reconciler = newReconciler();
    },
    abort,
    reconcile: (name) =>
      f.reconciler.reconcile(`${namespace}/${name}`).catch((error: unknown) => {
        if (error instanceof GenericError) return error;
        throw error;
      }),
    async request(name, spec = {}, annotations) {
      await store.create(RESOURCE_TYPES.deployRequests, {
        apiVersion: 'keyless.dev/v1alpha1',
        kind: 'DeployRequest',
        metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
        spec: {
          target: { kind: 'Deployment', name: 'web' },
          images: [{ container: 'web', image: 'ghcr.io/acme/web:2.0.0' }],
          source: { type: 'kubernetes' },
          ...spec,
        },
      });
    },
    async get(name) {
      return (await store.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name)) as Request;
    },
    async workload() {
      return (await store.get<KubeObject>(RESOURCE_TYPES.deployments, namespace, 'web')) as KubeObject;
    },
    async workloadStatus(status) {
      const workload = await f.workload();
      await store.replace(RESOURCE_TYPES.deployments, { ...workload, status }, { subresource: 'status' });
    },
  };
  return f;
}

const condition = (request: Request, type: string) =>
  request.status?.conditions?.find((candidate) => candidate.type === type);

/** The Deployment's status once every replica runs the template at `generation`. */
const rolledOut = (generation: number) => ({
  observedGeneration: generation,
  replicas: 2,
  updatedReplicas: 2,
  readyReplicas: 2,
  availableReplicas: 2,
});

describe('policy step', () => {
  test('no policy allows it: Denied, stalled (no retry), Ready=False PolicyDenied, one Warning Event', async () => {
    const f = await fixture({ allowManual: false, subjects: [{ repositoryId: '1' }] });
    await f.request('manual');
    expect(await f.reconcile('manual')).toBeUndefined();
    const denied = await f.get('manual');
    expect(denied.status?.phase).toBe('Denied');
    expect(condition(denied, 'Ready')).toMatchObject({ status: 'False', reason: 'PolicyDenied' });
    expect(condition(denied, 'Stalled')).toMatchObject({ status: 'True', reason: 'PolicyDenied' });
    expect(condition(denied, 'Reconciling')).toMatchObject({ status: 'False' });
    expect(f.events).toEqual([
      expect.objectContaining({ object: 'manual', type: 'Warning', reason: 'PolicyDenied' }),
    ]);
    // A finished request is not touched again.
    f.calls.length = 0;
    expect(await f.reconcile('manual')).toBeUndefined();
    expect(f.calls).toEqual(['get deployrequests']);
  });
});

describe('gates step', () => {
  test('approval required: WaitingForApproval without a timed requeue (the approval annotation brings it back)', async () => {
    // The in-process client is the embedded server's admin; the admission policy lets a user
    // approve only under their own name.
    const f = await fixture({ approval: { required: true, approvers: ['playground-admin'] } });
    await f.request('gated');
    expect(await f.reconcile('gated')).toBeUndefined();
    const waiting = await f.get('gated');
    expect(waiting.status?.phase).toBe('WaitingForApproval');
    expect(condition(waiting, 'Ready')).toMatchObject({ status: 'False', reason: 'WaitingForApproval' });
    expect(condition(waiting, 'Reconciling')).toMatchObject({ status: 'True', reason: 'WaitingForApproval' });
    expect(condition(waiting, 'Stalled')).toBeUndefined();
    // Reconciling again changes nothing: no write, no second Event.
    f.calls.length = 0;
    await f.reconcile('gated');
    expect(f.calls.filter((call) => call.startsWith('update'))).toEqual([]);
    expect(f.events.map((event) => event.reason)).toEqual(['WaitingForApproval']);
    // Approved by someone the policy names: the deploy starts.
    await store.patch(
      RESOURCE_TYPES.deployRequests,
      f.namespace,
      'gated',
      { metadata: { annotations: { 'keyless.dev/approved-by': 'playground-admin' } } },
      'merge',
    );
    await f.reconcile('gated');
    const approved = await f.get('gated');
    expect(approved.status).toMatchObject({ phase: 'Deploying', approvedBy: 'playground-admin' });
    expect(condition(approved, 'Approved')).toMatchObject({ status: 'True', reason: 'Approved' });
  });

  test('outside every deploy window: Waiting until the window opens, requeued for exactly then', async () => {
    const f = await fixture({ windows: [{ start: '14:00', end: '16:00' }] });
    await f.request('early');
    expect(await f.reconcile('early')).toEqual({ requeueAfterMs: 2 * 3600_000 });
    const waiting = await f.get('early');
    expect(waiting.status).toMatchObject({ phase: 'Waiting', waitingUntil: '2026-12-01T14:00:00Z' });
    expect(condition(waiting, 'Scheduled')).toMatchObject({ status: 'False', reason: 'OutsideDeployWindow' });
  });
});

describe('ordering step', () => {
  test('another request holds the workload: Queued without polling, queued again when the holder ends', async () => {
    const f = await fixture();
    await f.request('first');
    await f.reconcile('first');
    expect((await f.get('first')).status?.phase).toBe('Deploying');
    await f.request('second', { images: [{ container: 'web', image: 'ghcr.io/acme/web:3.0.0' }] });
    expect(await f.reconcile('second')).toBeUndefined();
    const queued = await f.get('second');
    expect(queued.status?.phase).toBe('Queued');
    expect(condition(queued, 'Ready')).toMatchObject({ status: 'False', reason: 'WorkloadBusy' });
    expect(f.requeued).toEqual([]);

    await f.workloadStatus(rolledOut(2));
    expect(await f.reconcile('first')).toBeUndefined();
    expect((await f.get('first')).status?.phase).toBe('Succeeded');
    expect(f.requeued).toEqual([`${f.namespace}/second`]);
    await f.reconcile('second');
    expect((await f.get('second')).status?.phase).toBe('Deploying');
  });

  test('the namespace is listed once per term, not per reconcile; a holder of an earlier term is checked with a list', async () => {
    const f = await fixture();
    const lists = (): number => f.calls.filter((call) => call === 'list deployrequests').length;
    const at = (second: number): string => `2026-12-01T12:00:0${second}.000Z`;
    await f.request('r1', { requestedAt: at(1) });
    await f.reconcile('r1');
    expect(lists()).toBe(1);
    for (const n of [2, 3]) {
      await f.request(`r${n}`, {
        requestedAt: at(n),
        images: [{ container: 'web', image: `ghcr.io/acme/web:${n}.0.0` }],
      });
      await f.reconcile(`r${n}`);
    }
    // Deploying was this term's own write: the index knows it holds the workload.
    expect(lists()).toBe(1);
    expect((await f.get('r3')).status?.phase).toBe('Queued');

    f.newTerm();
    await f.request('r4', {
      requestedAt: at(4),
      images: [{ container: 'web', image: 'ghcr.io/acme/web:4.0.0' }],
    });
    await f.reconcile('r4');
    // The term's first list, and one more: the holder was made active by an earlier term.
    expect(lists()).toBe(3);
    expect((await f.get('r4')).status?.phase).toBe('Queued');
    expect(await f.reconcile('r3')).toBeUndefined();
    expect((await f.get('r3')).status).toMatchObject({ phase: 'Superseded', supersededBy: 'r4' });
  });

  test('a holder deleted behind the index: the list shows it gone and the waiting request starts', async () => {
    const f = await fixture();
    await f.request('first');
    await f.reconcile('first');
    await f.request('second', { images: [{ container: 'web', image: 'ghcr.io/acme/web:3.0.0' }] });
    expect(await f.reconcile('second')).toBeUndefined();
    await f.kube.delete(RESOURCE_TYPES.deployRequests, f.namespace, 'first');
    f.newTerm();
    await f.reconcile('second');
    expect((await f.get('second')).status?.phase).toBe('Deploying');
  });

  test('a newer authorized request supersedes a queued one', async () => {
    const f = await fixture();
    // Manual requests are ordered by creationTimestamp (whole seconds), then name: names in
    // creation order keep the order whether or not a second passes between the creates.
    await f.request('req-1-holder');
    await f.reconcile('req-1-holder');
    await f.request('req-2-older');
    await f.reconcile('req-2-older');
    await f.request('req-3-newer');
    await f.reconcile('req-3-newer');
    expect((await f.get('req-3-newer')).status?.phase).toBe('Queued');
    expect(await f.reconcile('req-2-older')).toBeUndefined();
    const superseded = await f.get('req-2-older');
    expect(superseded.status).toMatchObject({ phase: 'Superseded', supersededBy: 'req-3-newer' });
    expect(condition(superseded, 'Stalled')).toMatchObject({ status: 'True', reason: 'Superseded' });
  });
});

describe('deploy and rollout steps', () => {
  test('Deploying is written before the patch, with previous images and the rollout settings; patched once', async () => {
    const f = await fixture({ rollout: { timeoutSeconds: 120, rollbackOnFailure: true } });
    await f.request('deploy');
    expect(await f.reconcile('deploy')).toEqual({ requeueAfterMs: 1000 });
    const statusWrite = f.calls.indexOf('update deployrequests/status');
    const patch = f.calls.indexOf('patch deployments');
    expect(statusWrite).toBeGreaterThanOrEqual(0);
    expect(patch).toBeGreaterThan(statusWrite);
    const deploying = await f.get('deploy');
    expect(deploying.status).toMatchObject({
      phase: 'Deploying',
      previousImages: [{ container: 'web', image: 'ghcr.io/acme/web:1.0.0' }],
      startedAt: '2026-12-01T12:00:00Z',
      rolloutSettings: { timeoutSeconds: 120, rollbackOnFailure: true, policyGeneration: 1 },
      deployedGeneration: 2,
    });
    expect(condition(deploying, 'Reconciling')).toMatchObject({ status: 'True', reason: 'Progressing' });
    const workload = await f.workload();
    expect(workload.metadata.annotations).toMatchObject({
      'keyless.dev/deploy-request': `${f.namespace}/deploy`,
      'keyless.dev/deploy-request-uid': deploying.metadata.uid,
    });
    // The rollout moves on; nothing is patched again.
    f.calls.length = 0;
    await f.workloadStatus(rolledOut(2));
    expect(await f.reconcile('deploy')).toBeUndefined();
    expect(f.calls).not.toContain('patch deployments');
    const done = await f.get('deploy');
    expect(done.status?.phase).toBe('Succeeded');
    expect(condition(done, 'Ready')).toMatchObject({ status: 'True', reason: 'RolloutComplete' });
    expect(condition(done, 'Stalled')).toMatchObject({ status: 'False' });
    expect(f.events.map((event) => `${event.type} ${event.reason}`)).toEqual([
      'Normal Deploying',
      'Normal RolloutComplete',
    ]);
  });

  test('a controller stopped after the patch but before recording it does not patch again', async () => {
    const f = await fixture();
    await f.request('resumed');
    // The patch lands but the status write after it is lost (the process died there).
    const lost = { ...f.kube };
    let dropped = false;
    const reconciler = new DeployRequestReconciler({
      kube: {
        ...f.kube,
        replace: async (type, object, options) => {
          if (
            !dropped &&
            (object.status as { deployedGeneration?: number } | undefined)?.deployedGeneration
          ) {
            dropped = true;
            throw new KubeApiError('connection reset', 0, 'ConnectionFailed');
          }
          return lost.replace(type, object, options);
        },
      },
      attestationKeys: [],
      events: { record: async () => undefined },
      logger: silentLogger(),
      now: () => f.clock.now,
    });
    await expect(reconciler.reconcile(`${f.namespace}/resumed`)).rejects.toThrow(/writing the status/);
    expect(f.calls.filter((call) => call === 'patch deployments')).toHaveLength(1);
    expect((await f.get('resumed')).status?.deployedGeneration).toBeUndefined();
    // The next reconcile finds the request's annotation on the workload and records the generation.
    expect(await f.reconcile('resumed')).toEqual({ requeueAfterMs: 1000 });
    expect(f.calls.filter((call) => call === 'patch deployments')).toHaveLength(1);
    expect((await f.get('resumed')).status?.deployedGeneration).toBe(2);
  });

  test('the settings recorded at the start hold: a policy edited to rollbackOnFailure: false still rolls back', async () => {
    const f = await fixture();
    await f.request('fixed');
    await f.reconcile('fixed');
    expect((await f.get('fixed')).status?.rolloutSettings).toEqual({
      timeoutSeconds: 600,
      rollbackOnFailure: true,
      policyGeneration: 1,
    });
    await store.patch(
      RESOURCE_TYPES.deployPolicies,
      f.namespace,
      'policy',
      { spec: { rollout: { rollbackOnFailure: false } } },
      'merge',
    );
    await f.workloadStatus({
      observedGeneration: 2,
      replicas: 2,
      updatedReplicas: 1,
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'web has timed out',
        },
      ],
    });
    expect(await f.reconcile('fixed')).toEqual({ requeueAfterMs: 1000 });
    const rollingBack = await f.get('fixed');
    expect(rollingBack.status?.phase).toBe('RollingBack');
    expect(condition(rollingBack, 'Deployed')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
    const workload = await f.workload();
    expect(workload.metadata.annotations?.[ROLLBACK_ANNOTATION]).toBe(`${f.namespace}/fixed`);
    await f.workloadStatus(rolledOut(3));
    await f.reconcile('fixed');
    expect((await f.get('fixed')).status?.phase).toBe('RolledBack');
  });

  test('the timeout comes from the recorded settings and the injected clock', async () => {
    const f = await fixture({ rollout: { timeoutSeconds: 60, rollbackOnFailure: false } });
    await f.request('slow');
    await f.reconcile('slow');
    f.clock.now = new Date('2026-12-01T12:01:00Z');
    expect(await f.reconcile('slow')).toEqual({ requeueAfterMs: 1000 });
    expect((await f.get('slow')).status?.phase).toBe('Deploying');
    f.clock.now = new Date('2026-12-01T12:01:01Z');
    expect(await f.reconcile('slow')).toBeUndefined();
    const failed = await f.get('slow');
    expect(failed.status?.phase).toBe('Failed');
    expect(condition(failed, 'Deployed')).toMatchObject({ reason: 'RolloutTimeout' });
    expect(failed.status?.message).toBe(
      'rollout did not complete within 60s; rollbackOnFailure is false, the new images stay',
    );
  });

  test('a running rollout is looked at again after the poll interval, or at its timeout when that comes first', async () => {
    const f = await fixture({ rollout: { timeoutSeconds: 60, rollbackOnFailure: false } }, 10_000);
    await f.request('watched');
    expect(await f.reconcile('watched')).toEqual({ requeueAfterMs: 10_000 });
    f.clock.now = new Date('2026-12-01T12:00:55Z');
    // 5 s left of the timeout, plus the second that whole-second timestamps may hide.
    expect(await f.reconcile('watched')).toEqual({ requeueAfterMs: 6_000 });
    f.clock.now = new Date('2026-12-01T12:01:01Z');
    expect(await f.reconcile('watched')).toBeUndefined();
    expect((await f.get('watched')).status).toMatchObject({ phase: 'Failed' });
    expect(condition(await f.get('watched'), 'Deployed')).toMatchObject({ reason: 'RolloutTimeout' });
  });
});

describe('summarise step: errors are shown on the request while the queue retries', () => {
  test('the API server refuses the workload patch: Ready=False ReconciliationFailed, one Event, no rewrite per retry', async () => {
    const f = await fixture();
    await f.request('refused');
    f.fail.patchWorkload = new KubeApiError(
      'Deployment.apps "web" is invalid: spec: forbidden',
      422,
      'Invalid',
    );
    const failure = await f.reconcile('refused');
    expect(failure).toBeInstanceOf(GenericError);
    expect((failure as GenericError).message).toBe(
      'patching Deployment web: the API server answered 422 Invalid: Deployment.apps "web" is invalid: spec: forbidden',
    );
    const shown = await f.get('refused');
    expect(shown.status?.phase).toBe('Deploying');
    expect(condition(shown, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'ReconciliationFailed',
      message: (failure as GenericError).message,
      lastTransitionTime: '2026-12-01T12:00:00Z',
    });
    expect(condition(shown, 'Reconciling')).toMatchObject({ status: 'True', reason: 'ProgressingWithRetry' });
    expect(condition(shown, 'Stalled')).toBeUndefined();
    expect(f.events.map((event) => `${event.type} ${event.reason}`)).toEqual([
      'Normal Deploying',
      'Warning ReconciliationFailed',
    ]);
    // The retry fails the same way a minute later: nothing new to write; the Event is the
    // recorder's to rate-limit (see event-recorder.test.ts).
    f.clock.now = new Date('2026-12-01T12:01:00Z');
    f.calls.length = 0;
    expect(await f.reconcile('refused')).toBeInstanceOf(GenericError);
    expect(f.calls.filter((call) => call.startsWith('update'))).toEqual([]);
    expect(condition(await f.get('refused'), 'Ready')?.lastTransitionTime).toBe('2026-12-01T12:00:00Z');
    // The cause goes away: the deploy goes on, Ready turns True at the new time.
    delete f.fail.patchWorkload;
    await f.reconcile('refused');
    await f.workloadStatus(rolledOut(2));
    await f.reconcile('refused');
    const done = await f.get('refused');
    expect(done.status?.phase).toBe('Succeeded');
    expect(condition(done, 'Ready')).toMatchObject({
      status: 'True',
      lastTransitionTime: '2026-12-01T12:01:00Z',
    });
    expect(condition(done, 'Reconciling')).toMatchObject({ status: 'False' });
  });

  test('a step failing half way writes only the error, never what the step had built', async () => {
    const f = await fixture();
    await f.request('half');
    f.fail.listRequests = new KubeApiError('etcdserver: request timed out', 500, 'InternalError');
    const failure = await f.reconcile('half');
    expect((failure as GenericError).message).toBe(
      'listing the DeployRequests of the workload: the API server answered 500 InternalError: etcdserver: request timed out',
    );
    const shown = await f.get('half');
    // Authorization passed before the list failed, but that is not written until the reconcile ends.
    expect(shown.status?.phase).toBeUndefined();
    expect(condition(shown, 'Authorized')).toBeUndefined();
    expect(condition(shown, 'Ready')).toMatchObject({ status: 'False', reason: 'ReconciliationFailed' });
    delete f.fail.listRequests;
    await f.reconcile('half');
    expect((await f.get('half')).status?.phase).toBe('Deploying');
  });

  test('a replica that lost leadership writes nothing', async () => {
    const f = await fixture();
    await f.request('standby');
    f.abort.abort();
    const failure = await f.reconcile('standby');
    expect((failure as GenericError).message).toMatch(/not the leader/);
    expect(f.calls.filter((call) => !call.startsWith('get') && !call.startsWith('list'))).toEqual([]);
    expect((await f.get('standby')).status).toBeUndefined();
  });
});
