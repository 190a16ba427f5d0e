/**
 * Simulated workload controllers for the embedded API server. There are no kubelets, so nothing
 * would ever move a Deployment's status; this watches Deployments, StatefulSets and DaemonSets
 * through the KubeClient interface and writes the status the real controllers would, one replica
 * step every `stepMs` (0: at once). Images whose tag starts with `fail` never become ready, so the
 * rollout ends in ProgressDeadlineExceeded (see README.md in this folder).
 */
import {
  isKubeError,
  type KubeClient,
  type KubeObject,
  type ResourceType,
  type WatchHandle,
} from '../../kube/kube-client.js';
import { RESOURCE_TYPES } from '../../kube/resource-types.js';
import type { Logger } from '../../observability/logger.js';
import { REVISION, ReplicaSetKeeper, type PodPlan } from './replica-set-keeper.js';
import {
  daemonSetStatus,
  deploymentStatus,
  desiredReplicas,
  statefulSetStatus,
  templateHash,
  templateImages,
  type RolloutProgress,
} from './workload-status.js';

type Json = Record<string, unknown>;

/** The default failing-image rule: the tag starts with `fail` (e.g. `ghcr.io/acme/web:fail-1`). */
export function isFailingImageByTag(image: string): boolean {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  if (colon <= lastSlash) return false;
  return withoutDigest.slice(colon + 1).startsWith('fail');
}

export interface WorkloadSimulatorOptions {
  kube: KubeClient;
  logger?: Logger;
  /** Time between replica steps; 0 completes a rollout in one status write. Default 0. */
  stepMs?: number;
  /** Multiplies progressDeadlineSeconds (e.g. 0.001 turns 600 s into 600 ms). Default 1. */
  progressDeadlineScale?: number;
  /** Which images never become ready. Default: tag starting with `fail`. */
  isFailingImage?: (image: string) => boolean;
  /** Nodes a DaemonSet runs on. Default 3. */
  nodeCount?: number;
  /** Keep ReplicaSets and Pods for Deployments (what kubectl rollout history/undo reads). Default true. */
  replicaSets?: boolean;
}

interface Tracked {
  type: ResourceType;
  object: KubeObject;
  progress: RolloutProgress;
  previousRevision?: string;
  /** Ready pods of earlier templates, oldest first (scaled down first, as the real controller does). */
  oldPods: Array<{ hash: string; ready: number }>;
  /** The pod plan the ReplicaSets and Pods were last brought to (undefined: sync needed). */
  planKey?: string;
  /** Revision of the Deployment's newest ReplicaSet. */
  revision?: string;
}

/** Keep at most `limit` old ready pods, dropping the oldest first. */
function trimOld(old: Tracked['oldPods'], limit: number): Tracked['oldPods'] {
  const kept = old.map((entry) => ({ ...entry }));
  let excess = kept.reduce((sum, entry) => sum + entry.ready, 0) - Math.max(0, limit);
  for (const entry of kept) {
    if (excess <= 0) break;
    const drop = Math.min(entry.ready, excess);
    entry.ready -= drop;
    excess -= drop;
  }
  return kept.filter((entry) => entry.ready > 0);
}

const sum = (old: Tracked['oldPods']): number => old.reduce((total, entry) => total + entry.ready, 0);

/** maxSurge of a Deployment in pods (RollingUpdate default 25%, rounded up; Recreate 0). */
function surgeOf(deployment: KubeObject, desired: number): number {
  const strategy = ((deployment.spec as Json | undefined)?.strategy ?? {}) as Json;
  if (strategy.type === 'Recreate') return 0;
  const value = ((strategy.rollingUpdate ?? {}) as Json).maxSurge ?? '25%';
  if (typeof value === 'number') return value;
  const percent = /^(\d+)%$/.exec(String(value));
  return percent ? Math.ceil((desired * Number(percent[1])) / 100) : 0;
}

const SIMULATED: ResourceType[] = [
  RESOURCE_TYPES.deployments,
  RESOURCE_TYPES.statefulSets,
  RESOURCE_TYPES.daemonSets,
];

/** Moves workload status like the real controllers do. */
export class WorkloadSimulator {
  private readonly tracked = new Map<string, Tracked>();
  private readonly watches = new Map<string, WatchHandle>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly stepMs: number;
  private readonly deadlineScale: number;
  private readonly isFailing: (image: string) => boolean;
  private readonly nodeCount: number;
  private busy = Promise.resolve();
  private readonly replicaSets: ReplicaSetKeeper | undefined;

  constructor(private readonly options: WorkloadSimulatorOptions) {
    this.replicaSets =
      options.replicaSets === false ? undefined : new ReplicaSetKeeper(options.kube, options.logger);
    this.stepMs = options.stepMs ?? 0;
    this.deadlineScale = options.progressDeadlineScale ?? 1;
    this.isFailing = options.isFailingImage ?? isFailingImageByTag;
    this.nodeCount = options.nodeCount ?? 3;
  }

  /** Start watching; resolves once the first lists are in. */
  async start(): Promise<void> {
    this.running = true;
    await Promise.all(SIMULATED.map((type) => this.watchType(type)));
    this.timer = setInterval(() => this.enqueue(() => this.tick()), Math.max(this.stepMs, 20));
    this.timer.unref();
  }

  /** Stop watching and stepping. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearInterval(this.timer);
    for (const handle of this.watches.values()) handle.stop();
    this.watches.clear();
    await this.busy;
  }

  private enqueue(work: () => Promise<void>): void {
    this.busy = this.busy
      .then(work)
      .catch((error: unknown) => this.options.logger?.warn({ err: error }, 'workload simulator step failed'));
  }

  private async watchType(type: ResourceType, resourceVersion?: string): Promise<void> {
    if (!this.running) return;
    const { kube } = this.options;
    try {
      let rv = resourceVersion;
      if (rv === undefined) {
        const list = await kube.list<KubeObject>(type, undefined);
        for (const object of list.items) this.observe(type, object);
        rv = list.resourceVersion;
      }
      let last = rv;
      const handle = await kube.watch<KubeObject>(
        type,
        undefined,
        { resourceVersion: rv },
        (event) => {
          last = event.object.metadata.resourceVersion ?? last;
          if (event.type === 'DELETED') this.forget(type, event.object);
          else if (event.type !== 'BOOKMARK') this.observe(type, event.object);
        },
        (error) => {
          if (!this.running) return;
          const relist = error !== undefined && isKubeError(error, 410);
          setTimeout(() => void this.watchType(type, relist ? undefined : last), error ? 200 : 0);
        },
      );
      this.watches.set(type.plural, handle);
    } catch (error) {
      this.options.logger?.warn(
        { err: error, resource: type.plural },
        'workload simulator watch failed; retrying',
      );
      setTimeout(() => void this.watchType(type), 500);
    }
  }

  /** A deleted workload: its ReplicaSets and Pods go with it (the garbage collector's work). */
  private forget(type: ResourceType, object: KubeObject): void {
    this.tracked.delete(this.key(type, object));
    const keeper = this.replicaSets;
    if (type.kind === 'Deployment' && keeper) this.enqueue(() => keeper.deleteAll(object));
  }

  private key(type: ResourceType, object: KubeObject): string {
    return `${type.plural}/${object.metadata.namespace}/${object.metadata.name}`;
  }

  /** A new or changed workload: start a rollout when its pod template changed. */
  private observe(type: ResourceType, object: KubeObject): void {
    const key = this.key(type, object);
    const existing = this.tracked.get(key);
    const hash = templateHash(object, type.kind);
    const failing = templateImages(object, type.kind).some((image) => this.isFailing(image));
    const desired = desiredReplicas(object, type.kind, this.nodeCount);
    if (!existing || existing.progress.templateHash !== hash) {
      const status = (object.status ?? {}) as Json;
      const generationSeen =
        Number(status.observedGeneration ?? 0) >= Number(object.metadata.generation ?? 1);
      // A workload whose status already shows this generation complete (e.g. after a restart) stays complete.
      const alreadyDone =
        !existing &&
        generationSeen &&
        Number(status.updatedReplicas ?? status.updatedNumberScheduled ?? -1) >= desired;
      // The pods of the template being left stay as old pods, unless they never became ready.
      let oldPods = existing ? existing.oldPods : [];
      if (existing && !existing.progress.failing && existing.progress.readyNew > 0)
        oldPods = [
          ...oldPods.filter((entry) => entry.hash !== existing.progress.templateHash),
          { hash: existing.progress.templateHash, ready: existing.progress.readyNew },
        ];
      // Going back to a template whose pods still run (a rollback): they are ready at once.
      const back = oldPods.find((entry) => entry.hash === hash)?.ready ?? 0;
      oldPods = oldPods.filter((entry) => entry.hash !== hash);
      const readyNew =
        alreadyDone || this.stepMs === 0 ? (failing ? 0 : desired) : failing ? 0 : Math.min(back, desired);
      oldPods = trimOld(oldPods, failing ? desired : desired - readyNew);
      this.tracked.set(key, {
        type,
        object,
        previousRevision: existing ? `${object.metadata.name}-${existing.progress.templateHash}` : undefined,
        oldPods,
        revision: existing?.revision,
        progress: { templateHash: hash, startedAt: Date.now(), readyNew, failing, readyOld: sum(oldPods) },
      });
    } else {
      // The same template (a scale or a metadata change): scaling down removes pods at once.
      existing.object = object;
      existing.progress.readyNew = Math.min(existing.progress.readyNew, desired);
      existing.oldPods = trimOld(
        existing.oldPods,
        existing.progress.failing ? desired : desired - existing.progress.readyNew,
      );
      existing.progress.readyOld = sum(existing.oldPods);
    }
    this.enqueue(() => this.writeStatus(key));
  }

  private async tick(): Promise<void> {
    for (const [key, tracked] of this.tracked) {
      const desired = desiredReplicas(tracked.object, tracked.type.kind, this.nodeCount);
      const progress = tracked.progress;
      if (!progress.failing && progress.readyNew < desired) {
        progress.readyNew++;
        tracked.oldPods = trimOld(tracked.oldPods, desired - progress.readyNew);
        progress.readyOld = sum(tracked.oldPods);
        await this.writeStatus(key);
      } else if (progress.failing || progress.readyNew < desired || this.needsSync(tracked)) {
        await this.writeStatus(key);
      }
    }
  }

  private needsSync(tracked: Tracked): boolean {
    return (
      this.replicaSets !== undefined && tracked.type.kind === 'Deployment' && tracked.planKey === undefined
    );
  }

  /** Pods per template for the Deployment's ReplicaSets, consistent with the status written. */
  private podPlan(tracked: Tracked, status: Json): PodPlan {
    const desired = desiredReplicas(tracked.object, tracked.type.kind, this.nodeCount);
    const progress = tracked.progress;
    const pods = new Map<string, { total: number; ready: number }>();
    pods.set(progress.templateHash, {
      total: Number(status.updatedReplicas ?? 0),
      ready: progress.failing ? 0 : Math.min(desired, progress.readyNew),
    });
    for (const old of tracked.oldPods) pods.set(old.hash, { total: old.ready, ready: old.ready });
    return { newHash: progress.templateHash, pods, desired, surge: surgeOf(tracked.object, desired) };
  }

  /** Bring ReplicaSets and Pods to the plan; failures are logged and retried on the next tick. */
  private async syncReplicaSets(tracked: Tracked, status: Json): Promise<void> {
    const keeper = this.replicaSets;
    if (!keeper || tracked.type.kind !== 'Deployment') return;
    const plan = this.podPlan(tracked, status);
    const { [REVISION]: _revision, ...copied } = (tracked.object.metadata.annotations ?? {}) as Record<
      string,
      string
    >;
    const planKey = JSON.stringify([plan.newHash, [...plan.pods], plan.desired, plan.surge, copied]);
    if (planKey === tracked.planKey) return;
    tracked.planKey = undefined;
    try {
      tracked.revision = await keeper.sync(tracked.object, plan);
      tracked.planKey = planKey;
    } catch (error) {
      this.options.logger?.warn(
        { err: error, deployment: `${tracked.object.metadata.namespace}/${tracked.object.metadata.name}` },
        'workload simulator: ReplicaSet sync failed; retrying',
      );
    }
  }

  private desiredStatus(tracked: Tracked): Json {
    switch (tracked.type.kind) {
      case 'Deployment':
        return deploymentStatus(tracked.object, tracked.progress, Date.now(), this.deadlineScale);
      case 'StatefulSet':
        return statefulSetStatus(tracked.object, tracked.progress, tracked.previousRevision);
      default:
        return daemonSetStatus(tracked.object, tracked.progress, this.nodeCount);
    }
  }

  private async writeStatus(key: string): Promise<void> {
    const tracked = this.tracked.get(key);
    if (!tracked || !this.running) return;
    const status = this.desiredStatus(tracked);
    await this.syncReplicaSets(tracked, status);
    const current = (tracked.object.status ?? {}) as Json;
    const metadata = tracked.object.metadata;
    const annotations = (metadata.annotations ?? {}) as Record<string, string>;
    // The Deployment carries its newest ReplicaSet's revision; the real controller writes it with
    // the status (the status subresource of Deployments keeps annotations).
    const revision = tracked.type.kind === 'Deployment' ? tracked.revision : undefined;
    const annotate = revision !== undefined && annotations[REVISION] !== revision;
    if (sameStatus(current, status) && !annotate) return;
    try {
      const written = await this.options.kube.replace<KubeObject>(
        tracked.type,
        {
          ...tracked.object,
          metadata: annotate
            ? { ...metadata, annotations: { ...annotations, [REVISION]: revision } }
            : metadata,
          status,
        },
        { subresource: 'status' },
      );
      tracked.object = written;
    } catch (error) {
      if (isKubeError(error, 409)) {
        const fresh = await this.options.kube.get<KubeObject>(
          tracked.type,
          tracked.object.metadata.namespace,
          tracked.object.metadata.name ?? '',
        );
        if (fresh) this.observe(tracked.type, fresh);
        return;
      }
      if (isKubeError(error, 404)) {
        this.tracked.delete(key);
        return;
      }
      throw error;
    }
  }
}

/** Equal apart from condition timestamps (so an unchanged status is not rewritten every tick). */
function sameStatus(a: Json, b: Json): boolean {
  const strip = (status: Json): string =>
    JSON.stringify({
      ...status,
      conditions: ((status.conditions ?? []) as Json[]).map(
        ({ lastUpdateTime: _u, lastTransitionTime: _t, ...rest }) => rest,
      ),
    });
  return strip(a) === strip(b);
}
