/**
 * Reading a workload's rollout from its status, as `kubectl rollout status` does: done when the
 * controller has observed the generation and every replica is updated, ready and available; failed
 * on ProgressDeadlineExceeded.
 */
import type { WorkloadKind } from '../api/types.js';
import type { KubeObject } from '../kube/kube-client.js';

type Json = Record<string, unknown>;

export type RolloutState =
  | { state: 'progressing'; message: string }
  | { state: 'available' }
  | { state: 'failed'; reason: string; message: string };

const num = (value: unknown): number => (typeof value === 'number' ? value : 0);

/**
 * The rollout state of `workload` (a `kind`, as the request names it) for the spec at `generation`
 * (the one the deploy produced).
 */
export function rolloutState(workload: KubeObject, generation: number, kind: WorkloadKind): RolloutState {
  const status = (workload.status ?? {}) as Json;
  const spec = (workload.spec ?? {}) as Json;
  if (kind === 'CronJob') return { state: 'available' };
  if (num(status.observedGeneration) < generation)
    return { state: 'progressing', message: 'waiting for the workload controller to observe the new spec' };
  if (kind === 'Deployment') {
    const progressing = ((status.conditions ?? []) as Json[]).find((c) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded') {
      return {
        state: 'failed',
        reason: 'ProgressDeadlineExceeded',
        message: String(progressing.message ?? 'progress deadline exceeded'),
      };
    }
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    if (num(status.updatedReplicas) < desired)
      return {
        state: 'progressing',
        message: `${num(status.updatedReplicas)} of ${desired} new replicas updated`,
      };
    if (num(status.replicas) > num(status.updatedReplicas))
      return {
        state: 'progressing',
        message: `${num(status.replicas) - num(status.updatedReplicas)} old replicas pending termination`,
      };
    if (num(status.availableReplicas) < num(status.updatedReplicas))
      return {
        state: 'progressing',
        message: `${num(status.availableReplicas)} of ${num(status.updatedReplicas)} updated replicas available`,
      };
    return { state: 'available' };
  }
  if (kind === 'StatefulSet') {
    const desired = typeof spec.replicas === 'number' ? spec.replicas : 1;
    if (num(status.readyReplicas) < desired)
      return { state: 'progressing', message: `${num(status.readyReplicas)} of ${desired} pods ready` };
    if (status.updateRevision !== status.currentRevision)
      return {
        state: 'progressing',
        message: `${num(status.updatedReplicas)} pods at revision ${String(status.updateRevision)}`,
      };
    return { state: 'available' };
  }
  // DaemonSet
  const desired = num(status.desiredNumberScheduled);
  if (num(status.updatedNumberScheduled) < desired)
    return {
      state: 'progressing',
      message: `${num(status.updatedNumberScheduled)} of ${desired} updated pods scheduled`,
    };
  if (num(status.numberAvailable) < desired)
    return {
      state: 'progressing',
      message: `${num(status.numberAvailable)} of ${desired} updated pods available`,
    };
  return { state: 'available' };
}
