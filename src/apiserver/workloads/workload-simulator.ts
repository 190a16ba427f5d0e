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
}

interface Tracked {
  type: ResourceType;
  object: KubeObject;
  progress: RolloutProgress;
  previousRevision?: string;
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

  constructor(private readonly options: WorkloadSimulatorOptions) {
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
          if (event.type === 'DELETED') this.tracked.delete(this.key(type, event.object));
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

  private key(type: ResourceType, object: KubeObject): string {
    return `${type.plural}/${object.metadata.namespace}/${object.metadata.name}`;
  }

  /** A new or changed workload: start a rollout when its pod template changed. */
  private observe(type: ResourceType, object: KubeObject): void {
    const key = this.key(type, object);
    const existing = this.tracked.get(key);
    const hash = templateHash(object, type.kind);
    const failing = templateImages(object, type.kind).some((image) => this.isFailing(image));
    if (!existing || existing.progress.templateHash !== hash) {
      const desired = desiredReplicas(object, type.kind, this.nodeCount);
      const status = (object.status ?? {}) as Json;
      const generationSeen =
        Number(status.observedGeneration ?? 0) >= Number(object.metadata.generation ?? 1);
      // A workload whose status already shows this generation complete (e.g. after a restart) stays complete.
      const alreadyDone =
        !existing &&
        generationSeen &&
        Number(status.updatedReplicas ?? status.updatedNumberScheduled ?? -1) >= desired;
      const readyOld = existing ? existing.progress.readyNew + existing.progress.readyOld : 0;
      this.tracked.set(key, {
        type,
        object,
        previousRevision: existing ? `${object.metadata.name}-${existing.progress.templateHash}` : undefined,
        progress: {
          templateHash: hash,
          startedAt: Date.now(),
          readyNew: alreadyDone || this.stepMs === 0 ? (failing ? 0 : desired) : 0,
          failing,
          readyOld:
            existing && !existing.progress.failing
              ? Math.min(readyOld, desired)
              : existing
                ? existing.progress.readyOld
                : 0,
        },
      });
    } else {
      existing.object = object;
    }
    this.enqueue(() => this.writeStatus(key));
  }

  private async tick(): Promise<void> {
    for (const [key, tracked] of this.tracked) {
      const desired = desiredReplicas(tracked.object, tracked.type.kind, this.nodeCount);
      const progress = tracked.progress;
      if (!progress.failing && progress.readyNew < desired) {
        progress.readyNew++;
        progress.readyOld = Math.max(0, Math.min(progress.readyOld, desired - progress.readyNew));
        await this.writeStatus(key);
      } else if (progress.failing || progress.readyNew < desired) {
        await this.writeStatus(key);
      }
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
    const current = (tracked.object.status ?? {}) as Json;
    if (sameStatus(current, status)) return;
    try {
      const written = await this.options.kube.replace<KubeObject>(
        tracked.type,
        { ...tracked.object, status },
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
