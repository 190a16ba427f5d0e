/**
 * One deploy per workload, and the newest authorized request wins. Within one controller a
 * per-workload lock serialises "may this request start?" decisions (leader election makes it
 * global). A request waits while another holds its workload (`Deploying`/`RollingBack`) and is
 * superseded when a newer request for the same workload has passed authorization and gates: only
 * authorized requests can supersede, so a stranger cannot cancel deploys by sending requests.
 * "Newer" is `spec.requestedAt` (the receiver's clock in milliseconds, covered by the attestation)
 * for requests from the receiver, else creationTimestamp (whole seconds, set by the API server),
 * then the name. A manual (`kubernetes`-source) request's `requestedAt` is written by the user and
 * never counts: a request dated in the future would otherwise supersede every later deploy.
 */
import type { DeployPhase, DeployRequest } from '../api/types.js';
import type { KubeObject } from '../kube/kube-client.js';

type Request = DeployRequest & KubeObject;

/** Phases in which a request holds its workload. */
export const ACTIVE_PHASES: readonly DeployPhase[] = ['Deploying', 'RollingBack'];

/** Phases of requests that passed authorization and gates (they supersede older waiting ones). */
export const PAST_GATES_PHASES: readonly DeployPhase[] = [
  'Queued',
  'Deploying',
  'RollingBack',
  'Succeeded',
  'Failed',
  'RolledBack',
];

/** Does a request in `phase` hold its workload? */
export function isActive(phase: DeployPhase | undefined): boolean {
  return phase !== undefined && ACTIVE_PHASES.includes(phase);
}

/**
 * The receiver's millisecond `requestedAt` of a request from the receiver (GitHub sources, whose
 * attestation the controller verified before the request could pass its gates), else undefined.
 */
function receiverTime(request: Request): number | undefined {
  if (request.spec.source?.type === 'kubernetes') return undefined;
  const requested = Date.parse(request.spec.requestedAt ?? '');
  return Number.isFinite(requested) ? requested : undefined;
}

/** When a request was made: the receiver's millisecond `requestedAt`, else its creationTimestamp. */
export function requestTime(request: Request): number {
  return receiverTime(request) ?? Date.parse(request.metadata.creationTimestamp ?? '');
}

/** Newer means requested later; the same millisecond: name order (deterministic across replicas). */
export function isNewer(a: Request, b: Request): boolean {
  const ta = requestTime(a);
  const tb = requestTime(b);
  if ((receiverTime(a) === undefined) !== (receiverTime(b) === undefined)) {
    // One time has milliseconds, the other (a creationTimestamp) whole seconds: within one second
    // their order is unknown, and neither supersedes the other on a guess (both deploy, in turn).
    return Math.floor(ta / 1000) > Math.floor(tb / 1000);
  }
  return ta !== tb ? ta > tb : (a.metadata.name ?? '') > (b.metadata.name ?? '');
}

/** Total order of requests across namespaces: creationTimestamp, then namespace, then name. */
export function comesFirst(a: Request, b: Request): boolean {
  const key = (r: Request): string =>
    `${r.metadata.creationTimestamp ?? ''}/${r.metadata.namespace ?? ''}/${r.metadata.name ?? ''}`;
  return key(a) < key(b);
}

/** May `request` start on its workload, given the other requests for the same workload? */
export type OrderDecision =
  { decision: 'superseded'; by: Request } | { decision: 'busy'; holder: Request } | { decision: 'start' };

/** Decide for `request` among `others` (the other requests for the same workload). */
export function decideOrder(request: Request, others: readonly Request[]): OrderDecision {
  const newer = others.filter(
    (other) =>
      other.metadata.name !== request.metadata.name &&
      isNewer(other, request) &&
      PAST_GATES_PHASES.includes(other.status?.phase as DeployPhase),
  );
  if (newer.length > 0)
    return { decision: 'superseded', by: newer.reduce((a, b) => (isNewer(b, a) ? b : a)) };
  const holder = others.find(
    (other) => other.metadata.name !== request.metadata.name && isActive(other.status?.phase),
  );
  return holder ? { decision: 'busy', holder } : { decision: 'start' };
}

/** Is `other` a request for the same workload as `request` (same namespace, kind and name)? */
export function sameWorkload(request: Request, other: Request): boolean {
  return (
    other.metadata.namespace === request.metadata.namespace &&
    other.spec.target.kind === request.spec.target.kind &&
    other.spec.target.name === request.spec.target.name
  );
}

/** Serialises work per workload: `run` for one workload waits for the previous one to finish. */
export class WorkloadLocks {
  private readonly tails = new Map<string, Promise<void>>();

  /** Run `fn` holding the lock of `request`'s workload. */
  async run<T>(request: Request, fn: () => Promise<T>): Promise<T> {
    const key = `${request.metadata.namespace}/${request.spec.target.kind}/${request.spec.target.name}`;
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
