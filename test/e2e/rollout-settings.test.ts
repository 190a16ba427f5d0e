/**
 * A deploy runs under the settings it started with: the policy's rollout settings (and its
 * generation) are recorded in `status.rolloutSettings` when the request enters Deploying, and a
 * policy edited mid-rollout changes neither the timeout nor whether a failure is rolled back. The
 * next request takes the edited settings.
 */
import type { DeployPolicy } from '../../src/api/types.js';
import type { KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { startHarness, type Harness } from './harness.js';

const NAMESPACE = 'settings-fixed';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.controller();
});

afterAll(async () => {
  await h.close();
});

test('a policy edited to rollbackOnFailure: false during a failing rollout: the request still rolls back', async () => {
  // A failing image: the rollout stalls and the Deployment reports ProgressDeadlineExceeded after 3 s.
  await h.scenario(NAMESPACE, {}, { progressDeadlineSeconds: 3 });
  await h.manual(NAMESPACE, 'started-before', {
    images: [{ container: 'web', image: 'ghcr.io/acme/web:fail-1' }],
  });
  const deploying = await h.waitFor(NAMESPACE, 'started-before', ['Deploying', 'Failed', 'RolledBack']);
  expect(deploying.status?.phase).toBe('Deploying');
  expect(deploying.status?.rolloutSettings).toEqual({
    timeoutSeconds: 600,
    rollbackOnFailure: true,
    policyGeneration: 1,
  });

  // Mid-rollout, the policy turns rollback off (and shortens the timeout).
  const edited = await h.kube.patch<DeployPolicy & KubeObject>(
    RESOURCE_TYPES.deployPolicies,
    NAMESPACE,
    'policy',
    { spec: { rollout: { rollbackOnFailure: false, timeoutSeconds: 1 } } },
    'merge',
  );
  expect(edited.metadata.generation).toBe(2);
  expect(
    (
      await h.kube.get<KubeObject & { status?: { phase?: string } }>(
        RESOURCE_TYPES.deployRequests,
        NAMESPACE,
        'started-before',
      )
    )?.status?.phase,
  ).toBe('Deploying');

  const ended = await h.waitFor(NAMESPACE, 'started-before', ['RolledBack', 'Failed', 'Succeeded'], 30_000);
  expect(ended.status?.phase).toBe('RolledBack');
  // Failed by the workload's own deadline, not by the edited 1 s timeout: the recorded 600 s held.
  expect(ended.status?.conditions?.find((c) => c.type === 'Deployed')?.reason).toBe(
    'ProgressDeadlineExceeded',
  );
  expect(ended.status?.rolloutSettings).toEqual({
    timeoutSeconds: 600,
    rollbackOnFailure: true,
    policyGeneration: 1,
  });
  expect(await h.images(NAMESPACE)).toEqual(['ghcr.io/acme/web:1.0.0']);

  // A request that starts after the edit runs under the edited settings: no rollback.
  await h.manual(NAMESPACE, 'started-after', {
    images: [{ container: 'web', image: 'ghcr.io/acme/web:fail-2' }],
  });
  const after = await h.waitFor(NAMESPACE, 'started-after', ['RolledBack', 'Failed', 'Succeeded'], 30_000);
  expect(after.status?.phase).toBe('Failed');
  expect(after.status?.rolloutSettings).toEqual({
    timeoutSeconds: 1,
    rollbackOnFailure: false,
    policyGeneration: 2,
  });
  expect(after.status?.message).toContain('rollbackOnFailure is false, the new images stay');
  expect(await h.images(NAMESPACE)).toEqual(['ghcr.io/acme/web:fail-2']);
}, 60_000);
