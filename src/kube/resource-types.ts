/** The resources this project reads and writes, as REST coordinates. */
import { GROUP, VERSION } from '../api/types.js';
import type { ResourceType } from './kube-client.js';

export const RESOURCE_TYPES = {
  deployRequests: {
    group: GROUP,
    version: VERSION,
    plural: 'deployrequests',
    kind: 'DeployRequest',
    namespaced: true,
  },
  deployPolicies: {
    group: GROUP,
    version: VERSION,
    plural: 'deploypolicies',
    kind: 'DeployPolicy',
    namespaced: true,
  },
  deployments: { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
  statefulSets: {
    group: 'apps',
    version: 'v1',
    plural: 'statefulsets',
    kind: 'StatefulSet',
    namespaced: true,
  },
  daemonSets: { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  cronJobs: { group: 'batch', version: 'v1', plural: 'cronjobs', kind: 'CronJob', namespaced: true },
  events: { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  namespaces: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  secrets: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  customResourceDefinitions: {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
  },
  validatingAdmissionPolicies: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: 'validatingadmissionpolicies',
    kind: 'ValidatingAdmissionPolicy',
    namespaced: false,
  },
  validatingAdmissionPolicyBindings: {
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    plural: 'validatingadmissionpolicybindings',
    kind: 'ValidatingAdmissionPolicyBinding',
    namespaced: false,
  },
  /** `kubectl auth whoami`: create-only, answers the caller's user name and groups. */
  selfSubjectReviews: {
    group: 'authentication.k8s.io',
    version: 'v1',
    plural: 'selfsubjectreviews',
    kind: 'SelfSubjectReview',
    namespaced: false,
  },
} as const satisfies Record<string, ResourceType>;

/** The REST coordinates of a workload kind. */
export function workloadResourceType(
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob',
): ResourceType {
  switch (kind) {
    case 'Deployment':
      return RESOURCE_TYPES.deployments;
    case 'StatefulSet':
      return RESOURCE_TYPES.statefulSets;
    case 'DaemonSet':
      return RESOURCE_TYPES.daemonSets;
    case 'CronJob':
      return RESOURCE_TYPES.cronJobs;
  }
}

/** `apiVersion` string of a resource type. */
export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}
