/**
 * The DeployRequests of each workload, so the `order` step decides without listing the namespace
 * on every reconcile. Fed by the informer (adds, updates, deletes) and by the reconciler's own reads
 * and writes, so a Deploying the controller itself wrote is in the index the moment the write
 * returns, before its watch event arrives. A version never replaces a newer one: the informer may
 * deliver the event of an earlier write after the reconciler recorded a later one.
 *
 * The index also remembers which requests this controller itself made active (Deploying,
 * RollingBack) in the current leadership term: only the leader writes phases, so such a request
 * is active until the leader writes its end (or it is deleted, which the informer reports).
 */
import type { DeployRequest } from '../api/types.js';
import type { KubeObject } from '../kube/kube-client.js';
import { isActive } from './workload-order.js';

type Request = DeployRequest & KubeObject;

/** `namespace/kind/name` of a request's target workload. */
export function workloadKey(request: Request): string {
  return `${request.metadata.namespace}/${request.spec.target.kind}/${request.spec.target.name}`;
}

/**
 * Is `candidate` older than `current`? resourceVersions are opaque to clients in general, but
 * kube-apiserver (etcd revisions) and the embedded server both issue increasing integers; when
 * either is not an integer the newer arrival wins.
 */
function isOlder(candidate: Request, current: Request): boolean {
  const a = candidate.metadata.resourceVersion ?? '';
  const b = current.metadata.resourceVersion ?? '';
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return a.length !== b.length ? a.length < b.length : a < b;
}

/** Requests by workload, plus what this controller made active itself. */
export class WorkloadRequestIndex {
  private readonly byWorkload = new Map<string, Map<string, Request>>();
  private readonly madeActive = new Set<string>();

  /** Record a version of a request (from the informer, a read or the controller's own write). */
  observe(request: Request): void {
    const key = workloadKey(request);
    let requests = this.byWorkload.get(key);
    if (!requests) this.byWorkload.set(key, (requests = new Map()));
    const name = request.metadata.name as string;
    const current = requests.get(name);
    if (current && current.metadata.uid === request.metadata.uid && isOlder(request, current)) return;
    requests.set(name, request);
    if (!isActive(request.status?.phase)) this.madeActive.delete(`${key}/${name}`);
  }

  /** Record the controller's own write: like {@link observe}, and remember an active phase it set. */
  written(request: Request): void {
    this.observe(request);
    if (isActive(request.status?.phase))
      this.madeActive.add(`${workloadKey(request)}/${request.metadata.name}`);
  }

  /** A request is gone. */
  forget(request: Request): void {
    const key = workloadKey(request);
    const requests = this.byWorkload.get(key);
    const current = requests?.get(request.metadata.name as string);
    // A deletion of an older incarnation (same name, other uid) leaves the newer one.
    if (!requests || (current && current.metadata.uid !== request.metadata.uid)) return;
    requests.delete(request.metadata.name as string);
    this.madeActive.delete(`${key}/${request.metadata.name}`);
    if (requests.size === 0) this.byWorkload.delete(key);
  }

  /**
   * Make a workload's entries what an authoritative list says: `requests` are all the requests of
   * `request`'s workload the API server has; entries it does not have are gone.
   */
  replaceWorkload(request: Request, requests: readonly Request[]): void {
    const key = workloadKey(request);
    const listed = new Set(requests.map((other) => other.metadata.name));
    for (const existing of [...(this.byWorkload.get(key)?.values() ?? [])])
      if (!listed.has(existing.metadata.name)) this.forget(existing);
    for (const other of requests) this.observe(other);
  }

  /** The known requests of `request`'s workload (including itself when known). */
  requestsOf(request: Request): Request[] {
    return [...(this.byWorkload.get(workloadKey(request))?.values() ?? [])];
  }

  /** The known requests for the workload `kind` `name` in `namespace`. */
  requestsFor(namespace: string | undefined, kind: string, name: string | undefined): Request[] {
    return [...(this.byWorkload.get(`${namespace}/${kind}/${name}`)?.values() ?? [])];
  }

  /** Did this controller make `request` active in this term (and has not seen it end)? */
  isActiveByOwnWrite(request: Request): boolean {
    return this.madeActive.has(`${workloadKey(request)}/${request.metadata.name}`);
  }

  /** A new leadership term: what the controller made active before is no longer known to hold. */
  newTerm(): void {
    this.madeActive.clear();
  }
}
