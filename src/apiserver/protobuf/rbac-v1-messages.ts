/**
 * Field tables of the rbac.authorization.k8s.io/v1 messages `kubectl create role|rolebinding|
 * clusterrole|clusterrolebinding` send (k8s.io/api `rbac/v1/generated.proto` of Kubernetes 1.36).
 */
import { LABEL_SELECTOR, METADATA } from './meta-v1-messages.js';
import { field, list, message, of, type MessageSchema } from './message-schema.js';

const RBAC = 'k8s.io.api.rbac.v1';

const POLICY_RULE: MessageSchema = message(`${RBAC}.PolicyRule`, [
  list(1, 'verbs', 'string', { go: 'always' }),
  list(2, 'apiGroups', 'string'),
  list(3, 'resources', 'string'),
  list(4, 'resourceNames', 'string'),
  list(5, 'nonResourceURLs', 'string'),
]);

const SUBJECT: MessageSchema = message(`${RBAC}.Subject`, [
  field(1, 'kind', 'string', { go: 'always' }),
  field(2, 'apiGroup', 'string'),
  field(3, 'name', 'string', { go: 'always' }),
  field(4, 'namespace', 'string'),
]);

const ROLE_REF: MessageSchema = message(`${RBAC}.RoleRef`, [
  field(1, 'apiGroup', 'string', { go: 'always' }),
  field(2, 'kind', 'string', { go: 'always' }),
  field(3, 'name', 'string', { go: 'always' }),
]);

const AGGREGATION_RULE: MessageSchema = message(`${RBAC}.AggregationRule`, [
  list(
    1,
    'clusterRoleSelectors',
    of(() => LABEL_SELECTOR),
  ),
]);

const RULES = list(
  2,
  'rules',
  of(() => POLICY_RULE),
  { go: 'always' },
);

export const ROLE: MessageSchema = message(`${RBAC}.Role`, [METADATA, RULES]);

export const CLUSTER_ROLE: MessageSchema = message(`${RBAC}.ClusterRole`, [
  METADATA,
  RULES,
  field(
    3,
    'aggregationRule',
    of(() => AGGREGATION_RULE),
    { go: 'pointer' },
  ),
]);

const BINDING = (kind: string): MessageSchema =>
  message(`${RBAC}.${kind}`, [
    METADATA,
    list(
      2,
      'subjects',
      of(() => SUBJECT),
    ),
    field(
      3,
      'roleRef',
      of(() => ROLE_REF),
      { go: 'value' },
    ),
  ]);

export const ROLE_BINDING: MessageSchema = BINDING('RoleBinding');
export const CLUSTER_ROLE_BINDING: MessageSchema = BINDING('ClusterRoleBinding');
