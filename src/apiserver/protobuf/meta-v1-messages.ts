/**
 * Field tables of the meta/v1 messages every object uses (k8s.io/apimachinery, `generated.proto`
 * of Kubernetes 1.36): ObjectMeta, OwnerReference, LabelSelector.
 */
import { field, list, map, message, of, type MessageSchema } from './message-schema.js';

const META = 'k8s.io.apimachinery.pkg.apis.meta.v1';

export const OWNER_REFERENCE: MessageSchema = message(`${META}.OwnerReference`, [
  field(5, 'apiVersion', 'string', { go: 'always' }),
  field(1, 'kind', 'string', { go: 'always' }),
  field(3, 'name', 'string', { go: 'always' }),
  field(4, 'uid', 'string', { go: 'always' }),
  field(6, 'controller', 'bool', { go: 'pointer' }),
  field(7, 'blockOwnerDeletion', 'bool', { go: 'pointer' }),
]);

export const OBJECT_META: MessageSchema = message(`${META}.ObjectMeta`, [
  field(1, 'name', 'string'),
  field(2, 'generateName', 'string'),
  field(3, 'namespace', 'string'),
  field(4, 'selfLink', 'string'),
  field(5, 'uid', 'string'),
  field(6, 'resourceVersion', 'string'),
  field(7, 'generation', 'int64'),
  field(8, 'creationTimestamp', 'time', { go: 'omitzero' }),
  field(9, 'deletionTimestamp', 'time', { go: 'pointer' }),
  field(10, 'deletionGracePeriodSeconds', 'int64', { go: 'pointer' }),
  map(11, 'labels', 'string'),
  map(12, 'annotations', 'string'),
  list(
    13,
    'ownerReferences',
    of(() => OWNER_REFERENCE),
  ),
  list(14, 'finalizers', 'string'),
  // Server-managed; a client never needs to send it.
  list(17, 'managedFields', 'unsupported'),
]);

export const LABEL_SELECTOR_REQUIREMENT: MessageSchema = message(`${META}.LabelSelectorRequirement`, [
  field(1, 'key', 'string', { go: 'always' }),
  field(2, 'operator', 'string', { go: 'always' }),
  list(3, 'values', 'string'),
]);

export const LABEL_SELECTOR: MessageSchema = message(`${META}.LabelSelector`, [
  map(1, 'matchLabels', 'string'),
  list(
    2,
    'matchExpressions',
    of(() => LABEL_SELECTOR_REQUIREMENT),
  ),
]);

/** `metadata` of a top-level object (a struct value: always written). */
export const METADATA = field(
  1,
  'metadata',
  of(() => OBJECT_META),
  { go: 'value' },
);
