/**
 * The ReplicaSets and Pods of a simulated Deployment, kept as the real deployment and replica set
 * controllers keep them: one ReplicaSet per pod template (`<deployment>-<pod-template-hash>`, the
 * hash as label, selector and template label), owned by the Deployment; the
 * `deployment.kubernetes.io/revision` annotation (the newest template gets the highest, a template
 * rolled back to takes a new one and keeps the old in `revision-history`); the Deployment's other
 * annotations copied onto its newest ReplicaSet; ReplicaSets scaled to zero beyond
 * `revisionHistoryLimit` deleted; and Pods (`<replicaset>-<5 characters>`) owned by each
 * ReplicaSet, ready or not as the simulated rollout says. `kubectl rollout history|undo` and
 * `kubectl get rs,pods` read these objects.
 */
import { isKubeError, type KubeClient, type KubeObject, type ResourceType } from '../../kube/kube-client.js';
import type { Logger } from '../../observability/logger.js';
import { labelSelectorString } from '../selectors.js';

type Json = Record<string, unknown>;

export const REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const HASH_LABEL = 'pod-template-hash';
/** Deployment annotations the controller does not copy onto ReplicaSets (as the real one). */
const NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deprecated.deployment.rollback.to',
]);

const REPLICA_SETS: ResourceType = {
  group: 'apps',
  version: 'v1',
  plural: 'replicasets',
  kind: 'ReplicaSet',
  namespaced: true,
};
const PODS: ResourceType = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };

/** How many pods each template should have, and how many of them are ready. */
export interface PodPlan {
  /** Hash of the Deployment's current template. */
  newHash: string;
  /** Pods per template hash (templates not listed have none). */
  pods: Map<string, { total: number; ready: number }>;
  /** spec.replicas of the Deployment and its surge (for the max-replicas annotation). */
  desired: number;
  surge: number;
}

/** The name of the single node pods of the playground are "scheduled" to. */
const SIMULATED_NODE = 'keyless-playground';

function annotations(object: KubeObject): Record<string, string> {
  return (object.metadata.annotations ?? {}) as Record<string, string>;
}

function revisionOf(object: KubeObject): number {
  const value = Number(annotations(object)[REVISION] ?? 0);
  return Number.isInteger(value) ? value : 0;
}

function ownedBy(object: KubeObject, owner: KubeObject): boolean {
  const references = (object.metadata.ownerReferences ?? []) as Array<Json>;
  return references.some(
    (reference) => reference.controller === true && reference.uid === owner.metadata.uid,
  );
}

function controllerReference(owner: KubeObject, kind: 'Deployment' | 'ReplicaSet'): Json {
  return {
    apiVersion: 'apps/v1',
    kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function template(deployment: KubeObject): Json {
  return ((deployment.spec as Json | undefined)?.template ?? {}) as Json;
}

/** Keeps the ReplicaSets and Pods of Deployments through a KubeClient. */
export class ReplicaSetKeeper {
  constructor(
    private readonly kube: KubeClient,
    private readonly logger?: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Bring the Deployment's ReplicaSets and Pods to `plan`; returns the revision of its newest
   * ReplicaSet (for the Deployment's own revision annotation).
   */
  async sync(deployment: KubeObject, plan: PodPlan): Promise<string> {
    const namespace = deployment.metadata.namespace as string;
    const owned = await this.ownedReplicaSets(deployment);
    const current = owned.find((rs) => rs.metadata.labels?.[HASH_LABEL] === plan.newHash);
    const others = owned.filter((rs) => rs !== current);
    const maxOld = Math.max(0, ...others.map(revisionOf));
    const copied = Object.fromEntries(
      Object.entries(annotations(deployment)).filter(([key]) => !NOT_COPIED.has(key)),
    );
    const wanted = plan.pods.get(plan.newHash) ?? { total: 0, ready: 0 };
    let newest: KubeObject;
    if (!current) {
      newest = await this.createReplicaSet(deployment, plan, maxOld + 1, copied, wanted.total);
    } else {
      const revision = revisionOf(current);
      const next: Record<string, string> = {
        ...copied,
        [REVISION]: String(revision > maxOld ? revision : maxOld + 1),
        [DESIRED_REPLICAS]: String(plan.desired),
        [MAX_REPLICAS]: String(plan.desired + plan.surge),
      };
      if (revision <= maxOld && revision > 0) {
        // A template rolled back to: its old revision moves into the history.
        const history = annotations(current)[REVISION_HISTORY];
        next[REVISION_HISTORY] = history ? `${history},${revision}` : String(revision);
      } else if (annotations(current)[REVISION_HISTORY]) {
        next[REVISION_HISTORY] = annotations(current)[REVISION_HISTORY] as string;
      }
      newest = await this.updateReplicaSet(current, next, wanted.total);
    }
    for (const rs of others) {
      const hash = rs.metadata.labels?.[HASH_LABEL] ?? '';
      await this.updateReplicaSet(rs, annotations(rs), plan.pods.get(hash)?.total ?? 0);
    }
    for (const rs of [newest, ...others]) {
      const hash = rs.metadata.labels?.[HASH_LABEL] ?? '';
      const pods = plan.pods.get(hash) ?? { total: 0, ready: 0 };
      await this.syncPods(namespace, rs, pods.total, pods.ready);
    }
    await this.cleanup(deployment, others, plan);
    return String(revisionOf(newest));
  }

  /** Delete the Deployment's ReplicaSets and their Pods (the garbage collector's work). */
  async deleteAll(deployment: KubeObject): Promise<void> {
    for (const rs of await this.ownedReplicaSets(deployment)) await this.deleteReplicaSet(rs);
  }

  private async ownedReplicaSets(deployment: KubeObject): Promise<KubeObject[]> {
    const selector = labelSelectorString((deployment.spec as Json | undefined)?.selector as Json | undefined);
    const list = await this.kube.list<KubeObject>(REPLICA_SETS, deployment.metadata.namespace, {
      labelSelector: selector || undefined,
    });
    return list.items.filter((rs) => ownedBy(rs, deployment));
  }

  private async createReplicaSet(
    deployment: KubeObject,
    plan: PodPlan,
    revision: number,
    copied: Record<string, string>,
    replicas: number,
  ): Promise<KubeObject> {
    const spec = (deployment.spec ?? {}) as Json;
    const podTemplate = structuredClone(template(deployment));
    const templateMeta = (podTemplate.metadata ?? {}) as Json;
    const labels = { ...((templateMeta.labels ?? {}) as Record<string, string>), [HASH_LABEL]: plan.newHash };
    podTemplate.metadata = { ...templateMeta, labels };
    const selector = structuredClone((spec.selector ?? {}) as Json);
    selector.matchLabels = { ...((selector.matchLabels ?? {}) as Json), [HASH_LABEL]: plan.newHash };
    const created = await this.kube.create<KubeObject>(REPLICA_SETS, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${deployment.metadata.name}-${plan.newHash}`,
        namespace: deployment.metadata.namespace,
        labels,
        annotations: {
          ...copied,
          [DESIRED_REPLICAS]: String(plan.desired),
          [MAX_REPLICAS]: String(plan.desired + plan.surge),
          [REVISION]: String(revision),
        },
        ownerReferences: [controllerReference(deployment, 'Deployment')],
      } as KubeObject['metadata'],
      spec: {
        replicas,
        ...(typeof spec.minReadySeconds === 'number' && spec.minReadySeconds > 0
          ? { minReadySeconds: spec.minReadySeconds }
          : {}),
        selector,
        template: podTemplate,
      },
    });
    return created;
  }

  private async updateReplicaSet(
    rs: KubeObject,
    next: Record<string, string>,
    replicas: number,
  ): Promise<KubeObject> {
    const spec = (rs.spec ?? {}) as Json;
    if (spec.replicas === replicas && JSON.stringify(annotations(rs)) === JSON.stringify(next)) return rs;
    return this.kube.replace<KubeObject>(REPLICA_SETS, {
      ...rs,
      metadata: { ...rs.metadata, annotations: next },
      spec: { ...spec, replicas },
    });
  }

  /** The replica set controller's status: every pod exists, ready as planned (written after the pods). */
  private async writeReplicaSetStatus(rs: KubeObject, replicas: number, readyCount: number): Promise<void> {
    const previous = (rs.status ?? {}) as Json;
    const status: Json = {
      replicas,
      ...(replicas > 0 ? { fullyLabeledReplicas: replicas } : {}),
      ...(Math.min(readyCount, replicas) > 0
        ? { readyReplicas: Math.min(readyCount, replicas), availableReplicas: Math.min(readyCount, replicas) }
        : {}),
      observedGeneration: rs.metadata.generation,
    };
    if (JSON.stringify(status) === JSON.stringify(previous)) return;
    await this.kube.replace<KubeObject>(REPLICA_SETS, { ...rs, status }, { subresource: 'status' });
  }

  private async syncPods(namespace: string, rs: KubeObject, total: number, ready: number): Promise<void> {
    const hash = rs.metadata.labels?.[HASH_LABEL] ?? '';
    const list = await this.kube.list<KubeObject>(PODS, namespace, {
      labelSelector: `${HASH_LABEL}=${hash}`,
    });
    // Ready pods first: scaling down removes the pods that are not ready before those that are.
    const pods = list.items
      .filter((pod) => ownedBy(pod, rs))
      .sort((a, b) => Number(podReady(b)) - Number(podReady(a)));
    for (const pod of pods.slice(total)) await this.deletePod(pod);
    const kept = pods.slice(0, total);
    while (kept.length < total) kept.push(await this.createPod(rs));
    for (const [index, pod] of kept.entries()) {
      const status = podStatus(rs, index < ready, pod, this.now());
      if (JSON.stringify(status) !== JSON.stringify(pod.status ?? {}))
        await this.kube.replace<KubeObject>(PODS, { ...pod, status }, { subresource: 'status' });
    }
    await this.writeReplicaSetStatus(
      (await this.kube.get<KubeObject>(REPLICA_SETS, namespace, rs.metadata.name as string)) ?? rs,
      total,
      ready,
    );
  }

  private async createPod(rs: KubeObject): Promise<KubeObject> {
    const podTemplate = ((rs.spec as Json).template ?? {}) as Json;
    const templateMeta = (podTemplate.metadata ?? {}) as Json;
    return this.kube.create<KubeObject>(PODS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        labels: templateMeta.labels as Record<string, string>,
        ...(templateMeta.annotations
          ? { annotations: templateMeta.annotations as Record<string, string> }
          : {}),
        ownerReferences: [controllerReference(rs, 'ReplicaSet')],
      } as KubeObject['metadata'],
      spec: { ...((podTemplate.spec ?? {}) as Json), nodeName: SIMULATED_NODE },
    });
  }

  private async cleanup(deployment: KubeObject, others: KubeObject[], plan: PodPlan): Promise<void> {
    const limit = (deployment.spec as Json | undefined)?.revisionHistoryLimit;
    const keep = typeof limit === 'number' ? limit : 10;
    const idle = others
      .filter((rs) => (plan.pods.get(rs.metadata.labels?.[HASH_LABEL] ?? '')?.total ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - keep))) await this.deleteReplicaSet(rs);
  }

  private async deleteReplicaSet(rs: KubeObject): Promise<void> {
    const hash = rs.metadata.labels?.[HASH_LABEL] ?? '';
    const pods = await this.kube.list<KubeObject>(PODS, rs.metadata.namespace, {
      labelSelector: `${HASH_LABEL}=${hash}`,
    });
    for (const pod of pods.items.filter((item) => ownedBy(item, rs))) await this.deletePod(pod);
    await this.kube.delete(REPLICA_SETS, rs.metadata.namespace, rs.metadata.name as string);
  }

  private async deletePod(pod: KubeObject): Promise<void> {
    try {
      await this.kube.delete(PODS, pod.metadata.namespace, pod.metadata.name as string);
    } catch (error) {
      if (!isKubeError(error, 404)) throw error;
      this.logger?.debug({ pod: pod.metadata.name }, 'simulated pod already gone');
    }
  }
}

/** A stable, made-up pod IP (each pod its own) in the usual pod network. */
function podIp(name: string): string {
  let sum = 0;
  for (const char of name) sum = (sum * 31 + char.charCodeAt(0)) % 64_516;
  return `10.244.${Math.floor(sum / 254)}.${(sum % 254) + 1}`;
}

function podReady(pod: KubeObject): boolean {
  const conditions = (((pod.status ?? {}) as Json).conditions ?? []) as Json[];
  return conditions.some((condition) => condition.type === 'Ready' && condition.status === 'True');
}

/** A running pod's status as a kubelet reports it; `ready` false: running but never ready. */
function podStatus(rs: KubeObject, ready: boolean, pod: KubeObject, now: Date): Json {
  const previous = (pod.status ?? {}) as Json;
  const started = (previous.startTime as string | undefined) ?? now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const containers = ((((rs.spec as Json).template as Json).spec as Json).containers ?? []) as Json[];
  const flag = ready ? 'True' : 'False';
  const previousConditions = (previous.conditions ?? []) as Json[];
  const condition = (type: string, status: string): Json => {
    const before = previousConditions.find((c) => c.type === type);
    return {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: before?.status === status ? before.lastTransitionTime : started,
      ...(status === 'False'
        ? {
            reason: 'ContainersNotReady',
            message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]`,
          }
        : {}),
    };
  };
  return {
    phase: 'Running',
    conditions: [
      condition('PodReadyToStartContainers', 'True'),
      condition('Initialized', 'True'),
      condition('Ready', flag),
      condition('ContainersReady', flag),
      condition('PodScheduled', 'True'),
    ],
    hostIP: '10.0.0.1',
    podIP: podIp(String(pod.metadata.name)),
    startTime: started,
    containerStatuses: containers.map((container) => ({
      name: container.name,
      image: container.image,
      imageID: '',
      ready,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: started } },
    })),
    qosClass: 'BestEffort',
  };
}
