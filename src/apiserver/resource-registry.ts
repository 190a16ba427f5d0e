/**
 * The resources the embedded API server serves: a fixed set of built-in kinds, plus one entry per
 * served version of every CustomResourceDefinition stored in it (added and removed as CRDs are
 * created and deleted, like the real apiextensions-apiserver).
 */

/** A served resource. */
export interface ResourceDefinition {
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** Has a `/status` subresource: the main endpoint ignores status and vice versa, generation tracks spec. */
  hasStatus: boolean;
  /** Has a `/scale` subresource (autoscaling/v1 Scale over `spec.replicas`). */
  hasScale: boolean;
  /** The CRD that defines it (custom resources only). */
  crd?: Record<string, unknown>;
  /** OpenAPI v3 schema of this version (custom resources only). */
  schema?: Record<string, unknown>;
  /** `additionalPrinterColumns` of this version (custom resources only). */
  printerColumns?: Array<Record<string, unknown>>;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function builtin(
  group: string,
  version: string,
  kind: string,
  plural: string,
  options: {
    namespaced?: boolean;
    shortNames?: string[];
    hasStatus?: boolean;
    hasScale?: boolean;
    categories?: string[];
    verbs?: string[];
  } = {},
): ResourceDefinition {
  return {
    group,
    version,
    plural,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced: options.namespaced ?? true,
    shortNames: options.shortNames ?? [],
    categories: options.categories ?? [],
    verbs: options.verbs ?? ALL_VERBS,
    hasStatus: options.hasStatus ?? false,
    hasScale: options.hasScale ?? false,
  };
}

/** Built-in kinds: what this project, kubectl and the project's Helm chart use. */
export const BUILTIN_RESOURCES: readonly ResourceDefinition[] = [
  builtin('', 'v1', 'Namespace', 'namespaces', { namespaced: false, shortNames: ['ns'], hasStatus: true }),
  builtin('', 'v1', 'Event', 'events', { shortNames: ['ev'] }),
  builtin('', 'v1', 'Pod', 'pods', { shortNames: ['po'], hasStatus: true, categories: ['all'] }),
  builtin('', 'v1', 'Service', 'services', { shortNames: ['svc'], hasStatus: true, categories: ['all'] }),
  builtin('', 'v1', 'ServiceAccount', 'serviceaccounts', { shortNames: ['sa'] }),
  builtin('', 'v1', 'Secret', 'secrets'),
  builtin('', 'v1', 'ConfigMap', 'configmaps', { shortNames: ['cm'] }),
  builtin('events.k8s.io', 'v1', 'Event', 'events', { shortNames: ['ev'] }),
  builtin('apps', 'v1', 'Deployment', 'deployments', {
    shortNames: ['deploy'],
    hasStatus: true,
    hasScale: true,
    categories: ['all'],
  }),
  builtin('apps', 'v1', 'StatefulSet', 'statefulsets', {
    shortNames: ['sts'],
    hasStatus: true,
    hasScale: true,
    categories: ['all'],
  }),
  builtin('apps', 'v1', 'DaemonSet', 'daemonsets', {
    shortNames: ['ds'],
    hasStatus: true,
    categories: ['all'],
  }),
  builtin('apps', 'v1', 'ReplicaSet', 'replicasets', {
    shortNames: ['rs'],
    hasStatus: true,
    hasScale: true,
    categories: ['all'],
  }),
  builtin('batch', 'v1', 'CronJob', 'cronjobs', { shortNames: ['cj'], hasStatus: true, categories: ['all'] }),
  builtin('batch', 'v1', 'Job', 'jobs', { hasStatus: true, categories: ['all'] }),
  builtin('coordination.k8s.io', 'v1', 'Lease', 'leases'),
  builtin('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', {
    namespaced: false,
    shortNames: ['crd', 'crds'],
    hasStatus: true,
  }),
  builtin('rbac.authorization.k8s.io', 'v1', 'Role', 'roles'),
  builtin('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings'),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', { namespaced: false }),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', {
    namespaced: false,
  }),
  builtin('networking.k8s.io', 'v1', 'Ingress', 'ingresses', { shortNames: ['ing'], hasStatus: true }),
  builtin('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', { shortNames: ['netpol'] }),
  builtin('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', {
    shortNames: ['pdb'],
    hasStatus: true,
  }),
  builtin('gateway.networking.k8s.io', 'v1', 'HTTPRoute', 'httproutes', { hasStatus: true }),
  builtin('monitoring.coreos.com', 'v1', 'ServiceMonitor', 'servicemonitors'),
  // Admission policies are stored and enforced (admission/validating-admission.ts).
  builtin('admissionregistration.k8s.io', 'v1', 'ValidatingAdmissionPolicy', 'validatingadmissionpolicies', {
    namespaced: false,
    hasStatus: true,
    categories: ['api-extensions'],
  }),
  builtin(
    'admissionregistration.k8s.io',
    'v1',
    'ValidatingAdmissionPolicyBinding',
    'validatingadmissionpolicybindings',
    { namespaced: false, categories: ['api-extensions'] },
  ),
  // Reviews are answered, never stored (admission/reviews.ts).
  builtin('authentication.k8s.io', 'v1', 'SelfSubjectReview', 'selfsubjectreviews', {
    namespaced: false,
    verbs: ['create'],
  }),
  builtin('authorization.k8s.io', 'v1', 'SelfSubjectAccessReview', 'selfsubjectaccessreviews', {
    namespaced: false,
    verbs: ['create'],
  }),
  builtin('authorization.k8s.io', 'v1', 'SelfSubjectRulesReview', 'selfsubjectrulesreviews', {
    namespaced: false,
    verbs: ['create'],
  }),
];

/** Looks resources up by group/version/plural and keeps the CRD-defined ones current. */
export class ResourceRegistry {
  private readonly custom = new Map<string, ResourceDefinition[]>();

  /** Every served resource. */
  all(): ResourceDefinition[] {
    return [...BUILTIN_RESOURCES, ...[...this.custom.values()].flat()];
  }

  /** The resource at `group/version/plural`, if served. */
  find(group: string, version: string, plural: string): ResourceDefinition | undefined {
    return this.all().find((r) => r.group === group && r.version === version && r.plural === plural);
  }

  /** The resource of a kind in an apiVersion, if served. */
  findByKind(apiVersion: string, kind: string): ResourceDefinition | undefined {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    return this.all().find((r) => r.group === group && r.version === version && r.kind === kind);
  }

  /** Serve (or re-serve) the versions of a stored CRD. */
  registerCrd(crd: Record<string, unknown>): void {
    const metadata = crd.metadata as { name: string };
    const spec = crd.spec as {
      group: string;
      scope: string;
      names: {
        plural: string;
        singular?: string;
        kind: string;
        listKind?: string;
        shortNames?: string[];
        categories?: string[];
      };
      versions: Array<{
        name: string;
        served: boolean;
        schema?: { openAPIV3Schema?: Record<string, unknown> };
        subresources?: { status?: unknown };
        additionalPrinterColumns?: Array<Record<string, unknown>>;
      }>;
    };
    const definitions = spec.versions
      .filter((version) => version.served)
      .map((version): ResourceDefinition => ({
        group: spec.group,
        version: version.name,
        plural: spec.names.plural,
        singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
        kind: spec.names.kind,
        listKind: spec.names.listKind ?? `${spec.names.kind}List`,
        namespaced: spec.scope === 'Namespaced',
        shortNames: spec.names.shortNames ?? [],
        categories: spec.names.categories ?? [],
        verbs: ALL_VERBS,
        hasStatus: version.subresources?.status !== undefined,
        // A CRD's scale subresource (with its own replica paths) is not served.
        hasScale: false,
        crd,
        schema: version.schema?.openAPIV3Schema,
        printerColumns: version.additionalPrinterColumns,
      }));
    this.custom.set(metadata.name, definitions);
  }

  /** Stop serving a deleted CRD. */
  unregisterCrd(name: string): void {
    this.custom.delete(name);
  }

  /** Groups and their versions, built-in first, for discovery. */
  groups(): Array<{ name: string; versions: string[] }> {
    const groups = new Map<string, Set<string>>();
    for (const resource of this.all()) {
      if (resource.group === '') continue;
      if (!groups.has(resource.group)) groups.set(resource.group, new Set());
      groups.get(resource.group)?.add(resource.version);
    }
    return [...groups].map(([name, versions]) => ({ name, versions: [...versions] }));
  }
}
