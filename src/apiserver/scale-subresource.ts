/**
 * The `/scale` subresource of Deployments, StatefulSets and ReplicaSets (what `kubectl scale` and
 * autoscalers use): an autoscaling/v1 `Scale` view of the object, built as kube-apiserver builds it
 * (name, namespace, uid, resourceVersion and creationTimestamp of the parent; `spec.replicas`;
 * `status.replicas` and the selector as a string), and the checks of a Scale written back.
 */
import type { StoredObject } from './object-store.js';
import { labelSelectorString } from './selectors.js';
import { badRequest, type StatusCause } from './status-error.js';

type Json = Record<string, unknown>;

export const SCALE_API_VERSION = 'autoscaling/v1';

/** The Scale of a stored object. */
export function scaleOf(object: StoredObject): Json {
  const metadata = object.metadata;
  const spec = (object.spec ?? {}) as Json;
  const status = (object.status ?? {}) as Json;
  const replicas = typeof spec.replicas === 'number' ? spec.replicas : 0;
  const selector = labelSelectorString(spec.selector as Json | undefined);
  return {
    kind: 'Scale',
    apiVersion: SCALE_API_VERSION,
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      uid: metadata.uid,
      resourceVersion: metadata.resourceVersion,
      creationTimestamp: metadata.creationTimestamp,
    },
    // ScaleSpec.replicas is `omitempty` and ScaleStatus.replicas is not, as in autoscaling/v1.
    spec: replicas === 0 ? {} : { replicas },
    status: {
      replicas: typeof status.replicas === 'number' ? status.replicas : 0,
      ...(selector ? { selector } : {}),
    },
  };
}

/** A Scale sent by a client, checked for shape: the kind and apiVersion must be Scale's. */
export function requireScale(body: unknown): Json {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the request body must be a JSON object');
  const scale = body as Json;
  if (scale.kind !== undefined && scale.kind !== 'Scale')
    throw badRequest(`the kind of the object (${String(scale.kind)}) does not match the resource (Scale)`);
  if (scale.apiVersion !== undefined && scale.apiVersion !== SCALE_API_VERSION)
    throw badRequest(
      `the API version in the data (${String(scale.apiVersion)}) does not match the expected API version (${SCALE_API_VERSION})`,
    );
  for (const field of ['metadata', 'spec', 'status'] as const) {
    const value = scale[field];
    if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value)))
      throw badRequest(`${field} must be an object`);
  }
  return scale;
}

/**
 * The replicas a Scale asks for (0 when absent: `omitempty`), and its field causes when negative.
 * A value that is not a 32-bit integer cannot be decoded at all: 400, as the real server's decoder.
 */
export function scaleReplicas(scale: Json): { replicas: number; causes: StatusCause[] } {
  const replicas = ((scale.spec ?? {}) as Json).replicas ?? 0;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || Math.abs(replicas) > 2 ** 31 - 1)
    throw badRequest(
      `Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal ${JSON.stringify(replicas)} into Go struct field ScaleSpec.spec.replicas of type int32`,
    );
  if (replicas < 0)
    return {
      replicas,
      causes: [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${replicas}: must be greater than or equal to 0`,
          field: 'spec.replicas',
        },
      ],
    };
  return { replicas, causes: [] };
}
