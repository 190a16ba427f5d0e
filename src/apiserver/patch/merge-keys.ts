/**
 * Strategic-merge metadata of the built-in kinds this project uses: which lists merge by which key
 * (Kubernetes' `patchStrategy:"merge" patchMergeKey:"..."` struct tags), and which primitive lists
 * merge as sets. Lists not listed here are atomic (replaced whole), as for custom resources.
 */

/** Merge key of a list field, by field name and (where it differs) by the parent field. */
const MERGE_KEYS: Record<
  string,
  string | ((parent: string | undefined, kind: string) => string | undefined)
> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  resourceClaims: 'name',
  ownerReferences: 'uid',
  conditions: 'type',
  topologySpreadConstraints: 'topologyKey',
  // Container ports merge by containerPort; Service ports by port.
  ports: (_parent, kind) => (kind === 'Service' ? 'port' : 'containerPort'),
};

/** Primitive lists that merge as sets. */
const SET_LISTS = new Set(['finalizers']);

/** Kinds whose lists follow the table (built-in kinds); others treat every list as atomic. */
const STRATEGIC_KINDS = new Set([
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'CronJob',
  'Job',
  'Pod',
  'Service',
  'ConfigMap',
  'Secret',
  'Namespace',
  'ServiceAccount',
  'Event',
  'Lease',
]);

/** The merge key of `field` (under `parent`) in `kind`, or undefined when the list is atomic. */
export function mergeKeyFor(kind: string, parent: string | undefined, field: string): string | undefined {
  if (field === 'ownerReferences' || field === 'finalizers') {
    // metadata lists merge for every kind.
  } else if (!STRATEGIC_KINDS.has(kind)) {
    return undefined;
  }
  const entry = MERGE_KEYS[field];
  if (entry === undefined) return undefined;
  return typeof entry === 'string' ? entry : entry(parent, kind);
}

/** Does this primitive list merge as a set? */
export function isSetList(field: string): boolean {
  return SET_LISTS.has(field);
}
