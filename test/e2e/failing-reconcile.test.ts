/**
 * A reconcile that keeps failing is visible where users look: `kubectl get dr` shows Ready=False
 * with the reason, `-o wide` and `kubectl describe dr` the message, and the Events show the error
 * once however often the controller retries (rate limited). Once the cause goes away, the request
 * goes on and Ready turns True.
 *
 * The failure is a refusal every API server makes (not an injected fault): the workload's
 * annotations are so close to the 256 KiB limit that the controller's patch, which adds the
 * annotations naming the request, is refused as invalid (422). The cluster comes from the harness.
 */
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import type { KubeObject } from '../../src/kube/kube-client.js';
import { kubectlOk } from '../support/kubectl.js';
import { newCallCounts, observingKube } from '../support/observing-kube.js';
import { waitUntil } from '../support/wait-until.js';
import { startHarness, type Harness, type Request } from './harness.js';

const NAMESPACE = 'failing-patch';
/** The API server's limit on the total size of an object's annotations (keys plus values). */
const ANNOTATIONS_LIMIT = 262_144;
const PADDING = 'example.com/padding';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

const ready = (request: Request | undefined) =>
  request?.status?.conditions?.find((condition) => condition.type === 'Ready');

test('kubectl get/describe show a reconcile that keeps failing: Ready=False, ReconciliationFailed, the message, one Event', async () => {
  await h.scenario(NAMESPACE);
  // Pad the workload's annotations to 50 bytes under the limit: valid as it is, but not with the
  // two annotations (about 110 bytes) every deploy patch adds.
  const workload = (await h.kube.get<KubeObject>(RESOURCE_TYPES.deployments, NAMESPACE, 'web')) as KubeObject;
  const used = Object.entries(workload.metadata.annotations ?? {}).reduce(
    (sum, [key, value]) => sum + key.length + value.length,
    0,
  );
  const padding = 'x'.repeat(ANNOTATIONS_LIMIT - 50 - used - PADDING.length);
  await h.kube.patch(
    RESOURCE_TYPES.deployments,
    NAMESPACE,
    'web',
    { metadata: { annotations: { [PADDING]: padding } } },
    'merge',
  );

  // Counts the workload patches the controller tries (accepted or refused).
  const counts = newCallCounts();
  const patchAttempts = (): number => counts.calls.get('patch deployments') ?? 0;
  const controller = await h.controller({ kube: observingKube(h.kube, counts) });
  try {
    await h.manual(NAMESPACE, 'stuck');
    const failing = await waitUntil(
      'the request shows the failed reconcile',
      async () => {
        const request = await h.kube.get<Request>(RESOURCE_TYPES.deployRequests, NAMESPACE, 'stuck');
        return ready(request)?.reason === 'ReconciliationFailed' ? request : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(failing.status?.phase).toBe('Deploying');
    expect(ready(failing)).toMatchObject({ status: 'False', reason: 'ReconciliationFailed' });
    expect(ready(failing)?.message).toMatch(
      /^patching Deployment web: the API server answered 422 Invalid: .*metadata\.annotations: Too long/,
    );
    expect(failing.status?.conditions?.find((c) => c.type === 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'ProgressingWithRetry',
    });
    // The queue retries with backoff (200 ms, 400 ms, 800 ms, ...): let it fail a few more times.
    await waitUntil('the controller has tried the patch three times', () => patchAttempts() >= 3, {
      timeoutMs: 20_000,
    });
    await h.settle(controller);
    const retried = await h.kube.get<Request>(RESOURCE_TYPES.deployRequests, NAMESPACE, 'stuck');
    // Retries are not transitions: Ready has been False since the deploy started.
    expect(ready(retried)?.lastTransitionTime).toBe(ready(failing)?.lastTransitionTime);

    const table = await kubectlOk(h.kubeconfig, ['get', 'dr', '-n', NAMESPACE]);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+PHASE\s+TARGET\s+IMAGE\s+SOURCE\s+READY\s+REASON\s+AGE$/);
    expect(table).toMatch(
      /\nstuck\s+Deploying\s+web\s+ghcr\.io\/acme\/web:2\.0\.0\s+manual\s+False\s+ReconciliationFailed\s+\S+\n/,
    );
    const wide = await kubectlOk(h.kubeconfig, ['get', 'dr', 'stuck', '-n', NAMESPACE, '-o', 'wide']);
    expect(wide).toMatch(
      /stuck\s+Deploying\s+Deployment\s+web\s+.*False\s+ReconciliationFailed\s+patching Deployment web: the API server answered 422 Invalid: .*metadata\.annotations: Too long/,
    );
    const described = await kubectlOk(h.kubeconfig, ['describe', 'dr', 'stuck', '-n', NAMESPACE]);
    expect(described).toMatch(
      /Message:\s+patching Deployment web: the API server answered 422 Invalid: [^\n]*metadata\.annotations: Too long[^\n]*\n\s+Observed Generation:\s+1\n\s+Reason:\s+ReconciliationFailed\n\s+Status:\s+False\n\s+Type:\s+Ready\n/,
    );
    expect(described).toMatch(/Normal\s+Deploying\s/);
    // However many retries, the error is one Event (rate limited), not one per attempt.
    expect(patchAttempts()).toBeGreaterThanOrEqual(3);
    expect(described.match(/Warning\s+ReconciliationFailed\s/g)).toHaveLength(1);
    expect(described).toMatch(
      /Warning\s+ReconciliationFailed\s+\S+\s+keyless-deploy-controller\s+patching Deployment web/,
    );

    // The cause goes away: the next attempt patches, the rollout completes, Ready turns True.
    await h.kube.patch(
      RESOURCE_TYPES.deployments,
      NAMESPACE,
      'web',
      { metadata: { annotations: { [PADDING]: null } } },
      'merge',
    );
    const done = await h.waitFor(NAMESPACE, 'stuck', ['Succeeded', 'Failed'], 30_000);
    expect(done.status?.phase).toBe('Succeeded');
    expect(ready(done)).toMatchObject({ status: 'True', reason: 'RolloutComplete' });
    expect(done.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'False' });
    expect(await h.images(NAMESPACE)).toEqual(['ghcr.io/acme/web:2.0.0']);
    expect(await kubectlOk(h.kubeconfig, ['get', 'dr', '-n', NAMESPACE])).toMatch(
      /\nstuck\s+Succeeded\s+web\s+ghcr\.io\/acme\/web:2\.0\.0\s+manual\s+True\s+RolloutComplete\s/,
    );
  } finally {
    await controller.stop();
  }
}, 60_000);
