/**
 * metav1.Condition bookkeeping. `lastTransitionTime` changes only on a real transition, when the
 * condition's `status` changes (as apimachinery's `SetStatusCondition` does): a reconcile that
 * fails again and again with a new message, or a rollout reporting progress, is not a transition.
 */
import type { Condition } from '../api/types.js';

/** The longest message the CRDs accept. */
const MAX_MESSAGE = 32768;

/** RFC 3339 with whole seconds, as metav1.Time serialises. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Set (or replace) a condition; `lastTransitionTime` is kept unless `status` changed. */
export function setCondition(
  conditions: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const message =
    next.message.length > MAX_MESSAGE ? `${next.message.slice(0, MAX_MESSAGE - 3)}...` : next.message;
  const condition: Condition = {
    ...next,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime:
      previous && previous.status === next.status ? previous.lastTransitionTime : timestamp(now),
  };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

/** The list without the condition of `type`. */
export function removeCondition(conditions: Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((condition) => condition.type !== type);
}

/** The condition of a type, if set. */
export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}
