/**
 * From informer events to queue keys: a request itself; the other open requests of its workload
 * (queued ones may proceed or be superseded when one moves); every open request of a namespace
 * whose policy changed; the open requests of a workload whose status changed (a rollout moved).
 * Workload events are mapped by the informer's resource type, not by the object's `kind`, which
 * list answers may leave out.
 */
import { TERMINAL_PHASES, type DeployRequest } from '../api/types.js';
import type { KubeObject, ResourceType } from '../kube/kube-client.js';
import type { Informer } from '../kube/scoped-informer.js';
import { KSTATUS } from '../runtime/summarize.js';

type Request = DeployRequest & KubeObject;

/** The informers the controller routes events from. */
export interface ControllerInformers {
  requests: Informer<Request>;
  policies: Informer<KubeObject>;
  /** One informer per workload kind, with the resource type it watches. */
  workloads: Array<{ type: ResourceType; informer: Informer<KubeObject> }>;
}

/** Where the work goes. */
export interface EventTargets {
  /** Queue a request (`namespace/name`) for the deploy reconciler. */
  reconcile(key: string): void;
  /** Offer a request to the GitHub reporter (it decides whether anything is left to report). */
  report(request: Request): void;
}

/** `namespace/name` of an object. */
export function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace}/${object.metadata.name}`;
}

/** Is the request still open (not in a final phase)? */
export function isOpen(request: Request): boolean {
  return !TERMINAL_PHASES.includes(request.status?.phase ?? 'Pending');
}

/**
 * Did an update change only Ready/Reconciling/Stalled (the summary of a reconcile, written when
 * one fails)? Such an update carries nothing a reconcile decides on; requeueing for it would
 * bypass the failed key's backoff and turn a failing reconcile into a hot loop.
 */
function onlySummaryChanged(before: Request | undefined, after: Request): boolean {
  // No old version, or the same one (a resync): not a change, reconcile as usual.
  if (!before || before.metadata.resourceVersion === after.metadata.resourceVersion) return false;
  const strip = (request: Request): string => {
    const { conditions, ...status } = request.status ?? {};
    const {
      resourceVersion: _rv,
      managedFields: _managed,
      ...metadata
    } = request.metadata as Request['metadata'] & {
      managedFields?: unknown;
    };
    const summary = new Set<string>(Object.values(KSTATUS));
    return JSON.stringify([
      metadata,
      request.spec,
      status,
      (conditions ?? []).filter((condition) => !summary.has(condition.type)),
    ]);
  };
  return strip(before) === strip(after);
}

/**
 * Subscribe the targets to the informers' events. `requestsFor` answers the requests of one
 * workload (the controller's per-workload index, fed before these handlers run); without it the
 * namespace's requests in the informer cache are filtered.
 */
export function routeEvents(
  informers: ControllerInformers,
  targets: EventTargets,
  requestsFor?: (namespace: string | undefined, kind: string, name: string | undefined) => Request[],
): void {
  const { requests, policies, workloads } = informers;
  const reconcileWorkload = (namespace: string | undefined, kind: string, name: string | undefined): void => {
    for (const request of requestsFor?.(namespace, kind, name) ?? requests.list(namespace)) {
      if (isOpen(request) && request.spec.target.kind === kind && request.spec.target.name === name)
        targets.reconcile(keyOf(request));
    }
  };
  requests.on('add', (request) => {
    if (isOpen(request)) targets.reconcile(keyOf(request));
    targets.report(request);
  });
  requests.on('update', (request, old) => {
    targets.report(request);
    if (onlySummaryChanged(old, request)) return;
    if (isOpen(request)) targets.reconcile(keyOf(request));
    // Another request of the workload moved: queued ones may proceed or be superseded.
    reconcileWorkload(request.metadata.namespace, request.spec.target.kind, request.spec.target.name);
  });
  requests.on('delete', (request) =>
    reconcileWorkload(request.metadata.namespace, request.spec.target.kind, request.spec.target.name),
  );
  for (const event of ['add', 'update', 'delete'] as const) {
    policies.on(event, (policy) => {
      for (const request of requests.list(policy.metadata.namespace))
        if (isOpen(request)) targets.reconcile(keyOf(request));
    });
  }
  for (const { type, informer } of workloads) {
    informer.on('update', (workload) =>
      reconcileWorkload(workload.metadata.namespace, type.kind, workload.metadata.name),
    );
  }
}
