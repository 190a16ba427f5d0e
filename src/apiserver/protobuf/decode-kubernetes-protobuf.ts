/**
 * Request bodies in the Kubernetes protobuf encoding (`application/vnd.kubernetes.protobuf`), as
 * kubectl's typed generators (`kubectl create namespace|deployment|secret|configmap|...`) send them:
 * the 4-byte prefix `k8s\0`, then a `runtime.Unknown` envelope naming apiVersion and kind, whose
 * `raw` bytes are the object's message. The object is decoded by field number into the JSON the
 * server stores, for the kinds in {@link PROTOBUF_KINDS}; anything else is refused.
 */
import { CONFIG_MAP, NAMESPACE, SECRET, SERVICE, SERVICE_ACCOUNT } from './core-v1-messages.js';
import { decodeMessage, UnsupportedProtobufField } from './decode-message.js';
import type { MessageSchema } from './message-schema.js';
import { CLUSTER_ROLE, CLUSTER_ROLE_BINDING, ROLE, ROLE_BINDING } from './rbac-v1-messages.js';
import { ProtobufError, WIRE, WireReader } from './wire-reader.js';
import { CRON_JOB, DEPLOYMENT, JOB, POD_DISRUPTION_BUDGET } from './workload-messages.js';

export { ProtobufError } from './wire-reader.js';

/** The media type of Kubernetes protobuf bodies. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

/** The kinds whose protobuf bodies are decoded, by `apiVersion/kind`. */
export const PROTOBUF_KINDS: Readonly<Record<string, MessageSchema>> = {
  'v1/Namespace': NAMESPACE,
  'v1/Secret': SECRET,
  'v1/ConfigMap': CONFIG_MAP,
  'v1/ServiceAccount': SERVICE_ACCOUNT,
  'v1/Service': SERVICE,
  'apps/v1/Deployment': DEPLOYMENT,
  'batch/v1/Job': JOB,
  'batch/v1/CronJob': CRON_JOB,
  'policy/v1/PodDisruptionBudget': POD_DISRUPTION_BUDGET,
  'rbac.authorization.k8s.io/v1/Role': ROLE,
  'rbac.authorization.k8s.io/v1/RoleBinding': ROLE_BINDING,
  'rbac.authorization.k8s.io/v1/ClusterRole': CLUSTER_ROLE,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': CLUSTER_ROLE_BINDING,
};

/** A well-formed body this decoder cannot turn into JSON (answered 415 UnsupportedMediaType). */
export class UnsupportedProtobuf extends Error {
  constructor(readonly detail: string) {
    super(detail);
    this.name = 'UnsupportedProtobuf';
  }
}

interface Envelope {
  apiVersion: string;
  kind: string;
  raw: { bytes: Uint8Array; offset: number };
  contentEncoding: string;
  contentType: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

function readString(reader: WireReader, wire: number, what: string, at: number): string {
  if (wire !== WIRE.bytes)
    throw new ProtobufError(`wrong wire type ${wire} for ${what} at byte ${at} (expected ${WIRE.bytes})`);
  return utf8.decode(reader.lengthDelimited().bytes);
}

/** The `runtime.Unknown` envelope (fields: 1 typeMeta {1 apiVersion, 2 kind}, 2 raw, 3 contentEncoding, 4 contentType). */
function readEnvelope(body: Uint8Array): Envelope {
  const reader = new WireReader(body.subarray(MAGIC.length), MAGIC.length);
  const envelope: Envelope = {
    apiVersion: '',
    kind: '',
    raw: { bytes: new Uint8Array(), offset: body.length },
    contentEncoding: '',
    contentType: '',
  };
  while (!reader.done) {
    const at = reader.offset;
    const { field, wire } = reader.tag();
    switch (field) {
      case 1: {
        if (wire !== WIRE.bytes)
          throw new ProtobufError(`wrong wire type ${wire} for typeMeta at byte ${at}`);
        const typeMeta = reader.lengthDelimited();
        const inner = new WireReader(typeMeta.bytes, typeMeta.offset);
        while (!inner.done) {
          const innerAt = inner.offset;
          const tag = inner.tag();
          if (tag.field === 1) envelope.apiVersion = readString(inner, tag.wire, 'apiVersion', innerAt);
          else if (tag.field === 2) envelope.kind = readString(inner, tag.wire, 'kind', innerAt);
          else
            throw new ProtobufError(
              `field number ${tag.field} at byte ${innerAt} is not defined in k8s.io.apimachinery.pkg.runtime.TypeMeta`,
            );
        }
        break;
      }
      case 2:
        if (wire !== WIRE.bytes) throw new ProtobufError(`wrong wire type ${wire} for raw at byte ${at}`);
        envelope.raw = reader.lengthDelimited();
        break;
      case 3:
        envelope.contentEncoding = readString(reader, wire, 'contentEncoding', at);
        break;
      case 4:
        envelope.contentType = readString(reader, wire, 'contentType', at);
        break;
      default:
        throw new ProtobufError(
          `field number ${field} at byte ${at} is not defined in k8s.io.apimachinery.pkg.runtime.Unknown`,
        );
    }
  }
  return envelope;
}

/**
 * Decode a protobuf request body into a JSON object with `apiVersion` and `kind`. Throws
 * {@link ProtobufError} for malformed input and {@link UnsupportedProtobuf} for input this server
 * cannot decode (a kind or field it has no table for, a content encoding).
 */
export function decodeKubernetesProtobuf(body: Uint8Array): Record<string, unknown> {
  if (body.length < MAGIC.length || !MAGIC.equals(body.subarray(0, MAGIC.length)))
    throw new ProtobufError(
      'the body does not start with the Kubernetes protobuf prefix "k8s\\0" (6b 38 73 00)',
    );
  const envelope = readEnvelope(body);
  if (envelope.contentEncoding !== '')
    throw new UnsupportedProtobuf(`protobuf bodies with content encoding "${envelope.contentEncoding}"`);
  if (envelope.contentType !== '' && envelope.contentType !== PROTOBUF_MEDIA_TYPE)
    throw new UnsupportedProtobuf(`protobuf envelopes holding "${envelope.contentType}"`);
  if (envelope.kind === '') throw new ProtobufError("Object 'Kind' is missing in the protobuf envelope");
  if (envelope.apiVersion === '')
    throw new ProtobufError("Object 'apiVersion' is missing in the protobuf envelope");
  const schema = PROTOBUF_KINDS[`${envelope.apiVersion}/${envelope.kind}`];
  if (!schema) throw new UnsupportedProtobuf(`protobuf bodies of ${envelope.kind} (${envelope.apiVersion})`);
  try {
    const object = decodeMessage(envelope.raw.bytes, schema, '', envelope.raw.offset);
    return { kind: envelope.kind, apiVersion: envelope.apiVersion, ...object };
  } catch (error) {
    if (error instanceof UnsupportedProtobufField)
      throw new UnsupportedProtobuf(`the field ${error.path} of a protobuf ${envelope.kind}`);
    throw error;
  }
}
