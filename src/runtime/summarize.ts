/**
 * The summarise step's rules: from how a reconcile ended to the kstatus conditions `Ready`,
 * `Reconciling` and `Stalled`, as Flux's runtime computes them.
 *
 * | ended with | Ready | Reconciling | Stalled |
 * | success | True | False | False |
 * | stalling (terminal) | False | False | True |
 * | waiting | False | True | removed |
 * | generic error (retried with backoff) | False, the error's reason and message | True, ProgressingWithRetry | removed |
 */
import type { Condition } from '../api/types.js';
import { GenericError, type ReconcileResult } from './reconcile-result.js';
import { removeCondition, setCondition } from './conditions.js';

/** The kstatus condition types. */
export const KSTATUS = { ready: 'Ready', reconciling: 'Reconciling', stalled: 'Stalled' } as const;

/** Reconciling=True while a failed reconcile waits for its retry. */
export const PROGRESSING_WITH_RETRY = 'ProgressingWithRetry';

/** `conditions` with Ready, Reconciling and Stalled set from `outcome`. */
export function summarizeConditions(
  conditions: Condition[] | undefined,
  outcome: ReconcileResult | GenericError,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const set = (
    list: Condition[],
    type: string,
    status: Condition['status'],
    reason: string,
    message: string,
  ) => setCondition(list, { type, status, reason, message }, generation, now);
  let list = [...(conditions ?? [])];
  if (outcome instanceof GenericError) {
    list = set(list, KSTATUS.ready, 'False', outcome.reason, outcome.message);
    list = set(list, KSTATUS.reconciling, 'True', PROGRESSING_WITH_RETRY, outcome.message);
    return removeCondition(list, KSTATUS.stalled);
  }
  const { reason, message } = outcome;
  switch (outcome.kind) {
    case 'success':
      list = set(list, KSTATUS.ready, 'True', reason, message);
      list = set(list, KSTATUS.reconciling, 'False', reason, message);
      return set(list, KSTATUS.stalled, 'False', reason, 'finished');
    case 'stalling':
      list = set(list, KSTATUS.ready, 'False', reason, message);
      list = set(list, KSTATUS.reconciling, 'False', reason, message);
      return set(list, KSTATUS.stalled, 'True', reason, message);
    case 'waiting':
      list = set(list, KSTATUS.ready, 'False', reason, message);
      list = set(list, KSTATUS.reconciling, 'True', reason, message);
      return removeCondition(list, KSTATUS.stalled);
  }
}
