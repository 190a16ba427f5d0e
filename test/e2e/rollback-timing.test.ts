/**
 * Timestamps of a deploy that fails and is rolled back, with an injected clock: `status.startedAt`
 * keeps the deploy's start, `status.rollbackStartedAt` records the rollback's, and the rollback's
 * timeout (twice the policy's rollout.timeoutSeconds) runs from the rollback's own start.
 */
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { kubectlOk } from '../support/kubectl.js';
import { startHarness, type Harness, type Request } from './harness.js';

let h: Harness;
const t0 = Date.parse('2026-03-02T10:00:00Z');
let clock = t0;
let clockReads = 0;

beforeAll(async () => {
  h = await startHarness();
  await h.controller({
    now: () => {
      clockReads++;
      return new Date(clock);
    },
  });
});

afterAll(() => h.close());

/** Resolves after the controller has read the clock `reads` more times (it reconciled at `clock`). */
async function controllerRanAgain(reads = 20): Promise<void> {
  const target = clockReads + reads;
  while (clockReads < target) await new Promise((resolve) => setTimeout(resolve, 20));
}

test('startedAt is kept across a rollback; the rollback times out from rollbackStartedAt', async () => {
  const namespace = 'e2e-rollback-clock';
  await h.scenario(namespace, { rollout: { timeoutSeconds: 10 } }, { replicas: 1 });
  // The running image never becomes ready either (tag fail-...), so the rollback cannot complete;
  // no progressDeadlineSeconds short enough to fire: only the controller's own timeout ends things.
  await h.kube.patch(
    RESOURCE_TYPES.deployments,
    namespace,
    'web',
    { spec: { template: { spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:fail-0' }] } } } },
    'strategic',
  );
  await h.manual(namespace, 'bad', { images: [{ container: 'web', image: 'ghcr.io/acme/web:fail-1' }] });
  const deploying = await h.waitFor(namespace, 'bad', ['Deploying']);
  expect(deploying.status?.startedAt).toBe('2026-03-02T10:00:00Z');

  clock = t0 + 11_000; // past the 10 s rollout timeout
  const rollingBack = await h.waitFor(namespace, 'bad', ['RollingBack']);
  expect(rollingBack.status).toMatchObject({
    startedAt: '2026-03-02T10:00:00Z',
    rollbackStartedAt: '2026-03-02T10:00:11Z',
  });
  expect(rollingBack.status?.conditions?.find((c) => c.type === 'Deployed')?.reason).toBe('RolloutTimeout');

  // 25 s after the deploy started but 14 s after the rollback did: within the rollback's 20 s.
  clock = t0 + 25_000;
  await controllerRanAgain();
  const still = await h.kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, 'bad');
  expect(still?.status?.phase).toBe('RollingBack');

  clock = t0 + 32_000; // 21 s after the rollback started
  const failed = await h.waitFor(namespace, 'bad', ['Failed', 'RolledBack']);
  expect(failed.status).toMatchObject({
    phase: 'Failed',
    startedAt: '2026-03-02T10:00:00Z',
    rollbackStartedAt: '2026-03-02T10:00:11Z',
    completedAt: '2026-03-02T10:00:32Z',
  });
  expect(failed.status?.message).toContain('the rollback did not complete either');

  // kubectl explain teaches both fields.
  const explained = await kubectlOk(h.playground.info.kubeconfig, ['explain', 'deployrequest.status']);
  expect(explained).toMatch(/startedAt[\s\S]*Kept when a rollback follows/);
  expect(explained).toMatch(/rollbackStartedAt[\s\S]*measured from here/);
});
