/**
 * Typed reconcile results, in the manner of Flux's runtime: a reconcile ends in success, in a
 * stalling result (terminal: retrying cannot help), in a waiting result (not done: look again after
 * a delay or on the next change), or it throws; an error is generic (the queue retries it with
 * exponential backoff). The summarise step turns each into kstatus conditions (see summarize.ts)
 * and the queue's instruction (see {@link toWorkResult}).
 */
import { isKubeError } from '../kube/kube-client.js';
import type { WorkResult } from './work-queue.js';

/** How a reconcile that did not throw ended. `reason` is CamelCase; `message` says why, for humans. */
export type ReconcileResult =
  | { kind: 'success'; reason: string; message: string }
  | { kind: 'stalling'; reason: string; message: string }
  | { kind: 'waiting'; reason: string; message: string; requeueAfterMs?: number };

/** The reason of a generic error that names no other. */
export const RECONCILIATION_FAILED = 'ReconciliationFailed';

/**
 * A reconcile failed for a reason that may pass (the API server, GitHub or the workload refused or
 * was unreachable): the summarise step shows it on the object and the queue retries with backoff.
 */
export class GenericError extends Error {
  /** CamelCase reason shown in the Ready condition and the Event. */
  readonly reason: string;

  constructor(message: string, options: { reason?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GenericError';
    this.reason = options.reason ?? RECONCILIATION_FAILED;
  }
}

/**
 * Wrap whatever a reconcile threw as a {@link GenericError} whose message says what was being done
 * and, for the API server, what it answered (`patching Deployment web: the API server answered 422
 * Invalid: ...`).
 */
export function genericError(error: unknown, doing?: string): GenericError {
  if (error instanceof GenericError) return error;
  let message = error instanceof Error ? error.message : String(error);
  if (isKubeError(error) && error.code > 0)
    message = `the API server answered ${error.code} ${error.reason}: ${message}`;
  return new GenericError(doing ? `${doing}: ${message}` : message, { cause: error });
}

/** What the work queue does next: nothing, or run the key again after the waiting result's delay. */
export function toWorkResult(result: ReconcileResult): WorkResult {
  return result.kind === 'waiting' && result.requeueAfterMs !== undefined
    ? { requeueAfterMs: result.requeueAfterMs }
    : undefined;
}
