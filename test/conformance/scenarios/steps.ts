/**
 * Shorthands for writing scenario steps as data: request paths in the scenario's namespace and
 * the four patch content types.
 */
import type { HttpStep, KubectlStep } from '../scenario.js';

/** A namespaced collection path: `core('configmaps')`, `group('apps/v1', 'deployments')`. */
export const core = (plural: string): string => `/api/v1/namespaces/{ns}/${plural}`;
export const group = (groupVersion: string, plural: string): string =>
  `/apis/${groupVersion}/namespaces/{ns}/${plural}`;
export const CM = core('configmaps');
export const SECRETS = core('secrets');
export const EVENTS = core('events');
export const DEPLOYMENTS = group('apps/v1', 'deployments');
export const STATEFULSETS = group('apps/v1', 'statefulsets');
export const DAEMONSETS = group('apps/v1', 'daemonsets');
export const CRONJOBS = group('batch/v1', 'cronjobs');
export const LEASES = group('coordination.k8s.io/v1', 'leases');
export const EVENTS_V1 = group('events.k8s.io/v1', 'events');
export const DR = group('keyless.dev/v1alpha1', 'deployrequests');
export const DP = group('keyless.dev/v1alpha1', 'deploypolicies');

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

type Extra = Omit<HttpStep, 'http' | 'body'>;

export const get = (path: string, extra: Extra = {}): HttpStep => ({ http: `GET ${path}`, ...extra });
export const post = (path: string, body: unknown, extra: Extra = {}): HttpStep => ({
  http: `POST ${path}`,
  body,
  ...extra,
});
export const put = (path: string, body: unknown, extra: Extra = {}): HttpStep => ({
  http: `PUT ${path}`,
  body,
  ...extra,
});
export const patch = (
  path: string,
  type: keyof typeof PATCH_TYPES,
  body: unknown,
  extra: Extra = {},
): HttpStep => ({ http: `PATCH ${path}`, body, contentType: PATCH_TYPES[type], ...extra });
export const del = (path: string, extra: Extra & { body?: unknown } = {}): HttpStep => ({
  http: `DELETE ${path}`,
  ...extra,
});
export const kubectl = (args: string | string[], extra: Omit<KubectlStep, 'kubectl'> = {}): KubectlStep => ({
  kubectl: typeof args === 'string' ? args.split(' ') : args,
  ...extra,
});

/** A ConfigMap body. */
export const configMap = (
  name: string,
  data: Record<string, string> = { a: '1' },
  metadata: Record<string, unknown> = {},
): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...metadata },
  data,
});
