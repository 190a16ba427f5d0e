/**
 * The admission policy that ties approval annotations to the Kubernetes user who writes them, and
 * the check the controller makes before it honours any approval or rejection.
 *
 * Only the API server knows who made a change, so the API server checks it: a
 * ValidatingAdmissionPolicy (admissionregistration.k8s.io/v1, Kubernetes >= 1.30) admits a create
 * or update of a DeployRequest that sets or changes `keyless.dev/approved-by` / `rejected-by`
 * only when the value is the writer's own user name, and `...-by-group` only when it is one of the
 * writer's groups, written together with the name. The chart ships these objects
 * (`templates/approval-admission-policy.yaml`, kept equal to {@link shippedApprovalAdmission} by
 * `test/chart/approval-admission.test.ts`); the playground installs them from here.
 */
import { ANNOTATIONS } from '../api/types.js';

/** Name of the shipped ValidatingAdmissionPolicy and of its binding (cluster-scoped, one per cluster). */
export const APPROVAL_ADMISSION_NAME = 'keyless-deploy-approvals';

/** How to install the admission objects, for messages that say they are missing. */
export const APPROVAL_ADMISSION_INSTALL =
  'install them with the keyless-deploy chart (value approvals.admissionPolicy.install, on by default; Kubernetes >= 1.30)';

/** A Kubernetes object as read from the API server (only what the check looks at). */
export interface AdmissionObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; creationTimestamp?: string; deletionTimestamp?: string };
  spec?: unknown;
  [field: string]: unknown;
}

/** A CEL expression for the value of an annotation of `object` or `oldObject` ('' when absent). */
function annotationOf(object: 'object' | 'oldObject', key: string): string {
  const guard = object === 'oldObject' ? 'oldObject != null && ' : '';
  return `${guard}has(${object}.metadata.annotations) && '${key}' in ${object}.metadata.annotations ? ${object}.metadata.annotations['${key}'] : ''`;
}

/** The two validations of one decision (approve or reject): the name, then the group. */
function decisionValidations(
  by: string,
  group: string,
  byKey: string,
  groupKey: string,
): Array<Record<string, string>> {
  const v = (name: string): string => `variables.${name}`;
  const old = (name: string): string => `variables.old${name[0]?.toUpperCase()}${name.slice(1)}`;
  return [
    {
      expression: `${v(by)} == '' || ${v(by)} == ${old(by)} || ${v(by)} == request.userInfo.username`,
      messageExpression: `'${byKey} may only be set to your own user name (' + request.userInfo.username + '), not ' + ${v(by)}`,
      message: `${byKey} may only be set to the user name of whoever sets it`,
      reason: 'Forbidden',
    },
    {
      expression: `${v(group)} == '' || (${v(group)} == ${old(group)} && ${v(by)} == ${old(by)}) || (${v(by)} == request.userInfo.username && ${v(group)} in request.userInfo.groups)`,
      messageExpression: `'${groupKey} may only name one of your own groups, set together with ${byKey}=' + request.userInfo.username`,
      message: `${groupKey} may only name a group of whoever sets it, together with ${byKey}`,
      reason: 'Forbidden',
    },
  ];
}

/** The ValidatingAdmissionPolicy and binding as shipped (what the chart renders, what the playground installs). */
export function shippedApprovalAdmission(): { policy: AdmissionObject; binding: AdmissionObject } {
  const keys = {
    approvedBy: ANNOTATIONS.approvedBy,
    approvedByGroup: ANNOTATIONS.approvedByGroup,
    rejectedBy: ANNOTATIONS.rejectedBy,
    rejectedByGroup: ANNOTATIONS.rejectedByGroup,
  };
  const variables = Object.entries(keys).flatMap(([name, key]) => [
    { name, expression: annotationOf('object', key) },
    { name: `old${name[0]?.toUpperCase()}${name.slice(1)}`, expression: annotationOf('oldObject', key) },
  ]);
  return {
    policy: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: APPROVAL_ADMISSION_NAME },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: {
          resourceRules: [
            {
              apiGroups: ['keyless.dev'],
              apiVersions: ['*'],
              operations: ['CREATE', 'UPDATE'],
              resources: ['deployrequests'],
            },
          ],
        },
        variables,
        validations: [
          ...decisionValidations('approvedBy', 'approvedByGroup', keys.approvedBy, keys.approvedByGroup),
          ...decisionValidations('rejectedBy', 'rejectedByGroup', keys.rejectedBy, keys.rejectedByGroup),
        ],
      },
    },
    binding: {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: APPROVAL_ADMISSION_NAME },
      spec: { policyName: APPROVAL_ADMISSION_NAME, validationActions: ['Deny'] },
    },
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Fill in what the API server defaults (admissionregistration/v1), so stored and shipped compare equal. */
function withDefaults(kind: 'policy' | 'binding', spec: unknown): Json {
  const copy = JSON.parse(JSON.stringify(spec ?? {})) as Record<string, Json>;
  const matchResources = (value: Json | undefined): void => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return;
    value.matchPolicy ??= 'Equivalent';
    value.namespaceSelector ??= {};
    value.objectSelector ??= {};
    for (const list of [value.resourceRules, value.excludeResourceRules])
      if (Array.isArray(list))
        for (const rule of list)
          if (rule && typeof rule === 'object' && !Array.isArray(rule)) rule.scope ??= '*';
  };
  if (kind === 'policy') {
    copy.failurePolicy ??= 'Fail';
    matchResources(copy.matchConstraints);
  } else {
    matchResources(copy.matchResources);
  }
  return prune(copy);
}

/** Drop null, empty lists and empty objects: the API server treats them like absent fields. */
function prune(value: Json): Json {
  if (Array.isArray(value)) return value.map(prune);
  if (value && typeof value === 'object') {
    const out: Record<string, Json> = {};
    for (const [key, item] of Object.entries(value)) {
      const pruned = prune(item);
      if (pruned === null) continue;
      if (Array.isArray(pruned) && pruned.length === 0) continue;
      if (typeof pruned === 'object' && !Array.isArray(pruned) && Object.keys(pruned).length === 0) continue;
      out[key] = pruned;
    }
    return out;
  }
  return value;
}

/** The first path where `actual` differs from `expected`, or undefined when equal. */
function firstDifference(expected: Json, actual: Json, path: string): string | undefined {
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual) || expected.length !== actual.length) return path;
    for (let i = 0; i < expected.length; i++) {
      const found = firstDifference(expected[i] as Json, actual[i] as Json, `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (expected && actual && typeof expected === 'object' && typeof actual === 'object') {
    for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      if (!(key in expected) || !(key in actual)) return `${path}.${key}`;
      const found = firstDifference(expected[key] as Json, actual[key] as Json, `${path}.${key}`);
      if (found) return found;
    }
    return undefined;
  }
  return expected === actual ? undefined : path;
}

/**
 * Where a stored policy (`which: 'policy'`) or binding differs from what is shipped, after the
 * API server's defaults (a path such as `spec.validationActions[0]`), or undefined when it does not.
 */
export function differenceFromShipped(
  which: 'policy' | 'binding',
  actual: AdmissionObject,
): string | undefined {
  const expected = shippedApprovalAdmission()[which];
  return firstDifference(withDefaults(which, expected.spec), withDefaults(which, actual.spec), 'spec');
}

export interface ApprovalAdmissionState {
  /** The ValidatingAdmissionPolicy named {@link APPROVAL_ADMISSION_NAME}; undefined when it does not exist. */
  policy: AdmissionObject | undefined;
  /** Its binding; undefined when it does not exist. */
  binding: AdmissionObject | undefined;
  /** The DeployRequest's creationTimestamp (set by the API server). */
  requestCreated: string | undefined;
  /**
   * How long after the later of the two objects was created a request must have been created
   * (on top of being created in a later second: timestamps have whole seconds).
   * A real API server loads new policies through an informer, so there is a short time in which
   * a policy exists but is not yet enforced; the embedded API server enforces it from its creation.
   */
  settleSeconds: number;
}

/**
 * Why approval annotations on a request cannot be attributed to users, or undefined when they
 * can: both objects exist and are as shipped, and the request was created after they took effect
 * (annotations written before the policy was in force may name anyone). Fails closed.
 */
export function approvalAdmissionProblem(state: ApprovalAdmissionState): string | undefined {
  const objects = [
    ['ValidatingAdmissionPolicy', 'policy', state.policy],
    ['ValidatingAdmissionPolicyBinding', 'binding', state.binding],
  ] as const;
  const missing = objects.filter(([, , actual]) => !actual).map(([kind]) => kind);
  if (missing.length > 0)
    return `${missing.join(' and ')} ${APPROVAL_ADMISSION_NAME} ${missing.length > 1 ? 'are' : 'is'} not installed: ${APPROVAL_ADMISSION_INSTALL}`;
  for (const [kind, which, actual] of objects) {
    if (actual?.metadata.deletionTimestamp)
      return `${kind} ${APPROVAL_ADMISSION_NAME} is being deleted: ${APPROVAL_ADMISSION_INSTALL}`;
    const difference = differenceFromShipped(which, actual as AdmissionObject);
    if (difference)
      return `${kind} ${APPROVAL_ADMISSION_NAME} is not as shipped (it differs at ${difference}): reinstall it unchanged (${APPROVAL_ADMISSION_INSTALL.replace(/^install them /, '')})`;
  }
  const inForce = Math.max(
    ...objects.map(([, , actual]) => Date.parse(actual?.metadata.creationTimestamp ?? '')),
  );
  const created = Date.parse(state.requestCreated ?? '');
  if (
    !Number.isFinite(inForce) ||
    !Number.isFinite(created) ||
    // Timestamps have whole seconds: a request of the same second may be older than the policy.
    created <= inForce + state.settleSeconds * 1000
  ) {
    const since = Number.isFinite(inForce)
      ? new Date(inForce).toISOString().replace('.000Z', 'Z')
      : 'unknown';
    return `the request was created before ${APPROVAL_ADMISSION_NAME} took effect (requests created after ${since}${state.settleSeconds > 0 ? ` + ${state.settleSeconds}s` : ''} count), so its annotations may have been written without it: create the request again`;
  }
  return undefined;
}
