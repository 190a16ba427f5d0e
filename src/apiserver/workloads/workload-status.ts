/**
 * Pure status logic of the simulated workload controllers: given a workload and how far its
 * simulated rollout has got, the status the real kube-controller-manager would report (fields,
 * condition types, reasons and messages as the Deployment, StatefulSet and DaemonSet controllers
 * write them). No ReplicaSets or Pods exist; their names in messages are derived from the template.
 */

type Json = Record<string, unknown>;

/** Simulated progress of one rollout. */
export interface RolloutProgress {
  /** Hash of the pod template being rolled out. */
  templateHash: string;
  /** When this rollout started (ms since epoch). */
  startedAt: number;
  /** New pods that are up and ready so far. */
  readyNew: number;
  /** The template never becomes ready (failing image). */
  failing: boolean;
  /** Ready pods of the previous template still running. */
  readyOld: number;
}

/**
 * Pod template of a workload of `kind` (CronJob: the job template's). The kind is passed in: list
 * items of built-in kinds carry none.
 */
export function podTemplate(workload: Json, kind: string): Json {
  const spec = (workload.spec ?? {}) as Json;
  if (kind === 'CronJob')
    return (((((spec.jobTemplate ?? {}) as Json).spec ?? {}) as Json).template as Json) ?? {};
  return (spec.template ?? {}) as Json;
}

/** Container images of the pod template. */
export function templateImages(workload: Json, kind: string): string[] {
  const containers = (((podTemplate(workload, kind).spec ?? {}) as Json).containers ?? []) as Json[];
  return containers.map((container) => String(container.image ?? ''));
}

/** The alphabet of Kubernetes' "safe" encoding (no vowels, no look-alike digits). */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * A pod template as Go's typed structs see it, for hashing: `null`, empty objects and empty lists
 * are the same as absent, and the `pod-template-hash` label is not part of the template. (kubectl
 * rollout undo writes back a ReplicaSet's template re-encoded from Go structs, which adds
 * `resources: {}` and `creationTimestamp: null`; the same template must hash the same.)
 */
function normalized(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    const items = value.map((item) => normalized(item)).filter((item) => item !== undefined);
    return items.length === 0 ? undefined : items;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Json)
      .filter(([name]) => !(key === 'labels' && name === 'pod-template-hash'))
      .map(([name, item]) => [name, normalized(item, name)] as const)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  return value === null ? undefined : value;
}

/** FNV-1a, 32 bits (the hash the real controllers use for template hashes). */
function fnv32a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The pod-template-hash of a workload's template, in the real format (the decimal FNV-1a hash in
 * the safe alphabet, e.g. `7d9c8f6b5b`): the same template always gives the same hash. The value
 * differs from a real cluster's, which hashes Go's in-memory struct.
 */
export function templateHash(workload: Json, kind: string): string {
  const text = JSON.stringify(normalized(podTemplate(workload, kind)) ?? {});
  return [...String(fnv32a(text))]
    .map((digit) => SAFE_ALPHABET[digit.charCodeAt(0) % SAFE_ALPHABET.length])
    .join('');
}

/** Desired replicas (DaemonSets: the simulated node count). */
export function desiredReplicas(workload: Json, kind: string, nodeCount: number): number {
  if (kind === 'DaemonSet') return nodeCount;
  const replicas = ((workload.spec ?? {}) as Json).replicas;
  return typeof replicas === 'number' ? replicas : 1;
}

function condition(
  previous: Json[] | undefined,
  type: string,
  status: 'True' | 'False',
  reason: string,
  message: string,
  now: string,
): Json {
  const before = previous?.find((c) => c.type === type);
  const unchanged = before && before.status === status;
  return {
    type,
    status,
    lastUpdateTime: now,
    lastTransitionTime: unchanged ? before.lastTransitionTime : now,
    reason,
    message,
  };
}

/** Deployment status for the given progress. */
export function deploymentStatus(
  workload: Json,
  progress: RolloutProgress,
  nowMs: number,
  deadlineScale: number,
): Json {
  const metadata = workload.metadata as Json;
  const spec = (workload.spec ?? {}) as Json;
  const previous = ((workload.status ?? {}) as Json).conditions as Json[] | undefined;
  const desired = desiredReplicas(workload, 'Deployment', 0);
  const now = new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const rsName = `${String(metadata.name)}-${progress.templateHash}`;
  const updated = progress.failing
    ? Math.min(desired, Math.max(1, Math.ceil(desired * 0.25)))
    : Math.min(desired, progress.readyNew);
  const readyNew = progress.failing ? 0 : Math.min(desired, progress.readyNew);
  const readyOld = Math.min(progress.readyOld, Math.max(0, desired - readyNew));
  const replicas = updated + readyOld;
  const available = readyNew + readyOld;
  const complete = !progress.failing && readyNew >= desired;
  const deadlineSeconds =
    typeof spec.progressDeadlineSeconds === 'number' ? spec.progressDeadlineSeconds : 600;
  const timedOut = !complete && nowMs - progress.startedAt > deadlineSeconds * 1000 * deadlineScale;
  const maxUnavailable = Math.floor(desired * 0.25);
  const availableCondition =
    available >= desired - maxUnavailable
      ? condition(
          previous,
          'Available',
          'True',
          'MinimumReplicasAvailable',
          'Deployment has minimum availability.',
          now,
        )
      : condition(
          previous,
          'Available',
          'False',
          'MinimumReplicasUnavailable',
          'Deployment does not have minimum availability.',
          now,
        );
  const progressing = complete
    ? condition(
        previous,
        'Progressing',
        'True',
        'NewReplicaSetAvailable',
        `ReplicaSet "${rsName}" has successfully progressed.`,
        now,
      )
    : timedOut
      ? condition(
          previous,
          'Progressing',
          'False',
          'ProgressDeadlineExceeded',
          `ReplicaSet "${rsName}" has timed out progressing.`,
          now,
        )
      : condition(
          previous,
          'Progressing',
          'True',
          'ReplicaSetUpdated',
          `ReplicaSet "${rsName}" is progressing.`,
          now,
        );
  return {
    observedGeneration: metadata.generation,
    replicas,
    updatedReplicas: updated,
    readyReplicas: available,
    availableReplicas: available,
    ...(replicas - available > 0 ? { unavailableReplicas: replicas - available } : {}),
    conditions: [availableCondition, progressing],
  };
}

/** StatefulSet status for the given progress. */
export function statefulSetStatus(
  workload: Json,
  progress: RolloutProgress,
  previousRevision: string | undefined,
): Json {
  const metadata = workload.metadata as Json;
  const desired = desiredReplicas(workload, 'StatefulSet', 0);
  const updateRevision = `${String(metadata.name)}-${progress.templateHash}`;
  const readyNew = progress.failing ? 0 : Math.min(desired, progress.readyNew);
  const complete = readyNew >= desired;
  const readyOld = Math.min(progress.readyOld, desired - readyNew);
  return {
    observedGeneration: metadata.generation,
    replicas: desired,
    readyReplicas: readyNew + readyOld,
    availableReplicas: readyNew + readyOld,
    currentReplicas: complete ? desired : readyOld,
    updatedReplicas: readyNew,
    currentRevision: complete ? updateRevision : (previousRevision ?? updateRevision),
    updateRevision,
    collisionCount: 0,
  };
}

/** DaemonSet status for the given progress. */
export function daemonSetStatus(workload: Json, progress: RolloutProgress, nodeCount: number): Json {
  const metadata = workload.metadata as Json;
  const readyNew = progress.failing ? 0 : Math.min(nodeCount, progress.readyNew);
  const readyOld = Math.min(progress.readyOld, nodeCount - readyNew);
  return {
    observedGeneration: metadata.generation,
    desiredNumberScheduled: nodeCount,
    currentNumberScheduled: nodeCount,
    numberMisscheduled: 0,
    numberReady: readyNew + readyOld,
    updatedNumberScheduled: progress.failing ? nodeCount : readyNew,
    numberAvailable: readyNew + readyOld,
    ...(nodeCount - readyNew - readyOld > 0 ? { numberUnavailable: nodeCount - readyNew - readyOld } : {}),
  };
}
