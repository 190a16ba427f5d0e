/**
 * Decode one protobuf message by its field table into the JSON object Go's encoder would write for
 * the same Go struct (see {@link GoJson}). Strict: a field number the table does not know, a wrong
 * wire type, a value out of range or a truncated field is a {@link ProtobufError} (400); a field
 * Kubernetes defines but the table marks unsupported is an {@link UnsupportedProtobufField} (415).
 * Nesting depth is bounded by the tables (no message contains itself), so hostile nesting ends at
 * the first field a table does not expect.
 */
import type { FieldSpec, MessageSchema, ValueType } from './message-schema.js';
import { ProtobufError, WIRE, WireReader } from './wire-reader.js';

type Json = Record<string, unknown>;

/** A field Kubernetes defines that this decoder does not decode (answered 415). */
export class UnsupportedProtobufField extends Error {
  constructor(
    readonly path: string,
    readonly messageName: string,
  ) {
    super(`field ${path} (${messageName}) cannot be decoded from protobuf by the embedded API server`);
    this.name = 'UnsupportedProtobufField';
  }
}

const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;
const utf8 = new TextDecoder('utf-8', { fatal: false });
const lookup = new WeakMap<MessageSchema, Map<number, FieldSpec>>();

function fieldsByNumber(schema: MessageSchema): Map<number, FieldSpec> {
  let table = lookup.get(schema);
  if (!table) {
    table = new Map(schema.fields.map((spec) => [spec.number, spec]));
    lookup.set(schema, table);
  }
  return table;
}

function isMessageLike(type: ValueType): boolean {
  return typeof type === 'object' || type === 'time' || type === 'quantity' || type === 'intOrString';
}

function child(path: string, name: string): string {
  if (name === '') return path;
  return path ? `${path}.${name}` : name;
}

/** What was read for one field: scalar values, or the byte chunks of a message-like value. */
interface Collected {
  values: unknown[];
  chunks: Array<{ bytes: Uint8Array; offset: number }>;
}

/** Decode `bytes` (a message at absolute `offset`) as `schema`; `path` names it in errors. */
export function decodeMessage(bytes: Uint8Array, schema: MessageSchema, path: string, offset = 0): Json {
  const table = fieldsByNumber(schema);
  const reader = new WireReader(bytes, offset);
  const collected = new Map<FieldSpec, Collected>();
  while (!reader.done) {
    const at = reader.offset;
    const { field, wire } = reader.tag();
    const spec = table.get(field);
    if (!spec)
      throw new ProtobufError(
        `field number ${field} (wire type ${wire}) at byte ${at} is not defined in ${schema.name}${path ? ` (at ${path})` : ''}`,
      );
    const fieldPath = child(path, spec.json);
    if (spec.type === 'unsupported') throw new UnsupportedProtobufField(fieldPath, schema.name);
    let entry = collected.get(spec);
    if (!entry) collected.set(spec, (entry = { values: [], chunks: [] }));
    readField(reader, wire, spec, fieldPath, entry, at);
  }
  const result: Json = {};
  for (const spec of schema.fields) emit(result, spec, collected.get(spec), path);
  return result;
}

function expectWire(wire: number, expected: number, path: string, at: number): void {
  if (wire !== expected)
    throw new ProtobufError(`wrong wire type ${wire} for ${path} at byte ${at} (expected ${expected})`);
}

function readField(
  reader: WireReader,
  wire: number,
  spec: FieldSpec,
  path: string,
  entry: Collected,
  at: number,
): void {
  const type = spec.type;
  if (type === 'ignored') {
    // Dropped by the server on writes; its own fields must still be framed correctly.
    expectWire(wire, WIRE.bytes, path, at);
    const chunk = reader.lengthDelimited();
    const inner = new WireReader(chunk.bytes, chunk.offset);
    while (!inner.done) inner.skipValue(inner.tag().wire);
    return;
  }
  if (spec.map) {
    expectWire(wire, WIRE.bytes, path, at);
    entry.values.push(readMapEntry(reader.lengthDelimited(), type, path));
    return;
  }
  if (isMessageLike(type)) {
    expectWire(wire, WIRE.bytes, path, at);
    const chunk = reader.lengthDelimited();
    if (spec.repeated)
      entry.values.push(decodeValue(chunk.bytes, chunk.offset, type, `${path}[${entry.values.length}]`));
    else entry.chunks.push(chunk);
    return;
  }
  if (type === 'string' || type === 'bytes') {
    expectWire(wire, WIRE.bytes, path, at);
    const { bytes } = reader.lengthDelimited();
    entry.values.push(type === 'string' ? utf8.decode(bytes) : Buffer.from(bytes).toString('base64'));
    return;
  }
  // Varint scalars; repeated ones may come packed (one length-delimited run of varints).
  if (spec.repeated && wire === WIRE.bytes) {
    const packed = reader.lengthDelimited();
    const inner = new WireReader(packed.bytes, packed.offset);
    while (!inner.done) entry.values.push(scalar(inner.varint(), type, path, at));
    return;
  }
  expectWire(wire, WIRE.varint, path, at);
  entry.values.push(scalar(reader.varint(), type, path, at));
}

function scalar(raw: bigint, type: ValueType, path: string, at: number): unknown {
  if (type === 'bool') return raw !== 0n;
  const value = BigInt.asIntN(64, raw);
  if (type === 'int32') {
    if (value < -(2n ** 31n) || value > 2n ** 31n - 1n)
      throw new ProtobufError(`value ${value} of ${path} at byte ${at} is out of range for int32`);
    return Number(value);
  }
  if (value < BigInt(Number.MIN_SAFE_INTEGER) || value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new ProtobufError(`value ${value} of ${path} at byte ${at} is too large to store exactly`);
  return Number(value);
}

function readMapEntry(
  chunk: { bytes: Uint8Array; offset: number },
  type: ValueType,
  path: string,
): [string, unknown] {
  const reader = new WireReader(chunk.bytes, chunk.offset);
  let key = '';
  const valueChunks: Array<{ bytes: Uint8Array; offset: number }> = [];
  while (!reader.done) {
    const at = reader.offset;
    const { field, wire } = reader.tag();
    if (field === 1) {
      expectWire(wire, WIRE.bytes, `${path} (map key)`, at);
      key = utf8.decode(reader.lengthDelimited().bytes);
    } else if (field === 2) {
      expectWire(wire, WIRE.bytes, `${path} (map value)`, at);
      valueChunks.push(reader.lengthDelimited());
    } else {
      throw new ProtobufError(`field number ${field} at byte ${at} is not part of a map entry (at ${path})`);
    }
  }
  const valuePath = `${path}.${key}`;
  const joined = join(valueChunks);
  if (type === 'string') return [key, utf8.decode(joined.bytes)];
  if (type === 'bytes') return [key, Buffer.from(joined.bytes).toString('base64')];
  return [key, decodeValue(joined.bytes, joined.offset, type, valuePath)];
}

/** Occurrences of one message field merge, which for protobuf is decoding their concatenation. */
function join(chunks: Array<{ bytes: Uint8Array; offset: number }>): { bytes: Uint8Array; offset: number } {
  if (chunks.length === 1) return chunks[0] as { bytes: Uint8Array; offset: number };
  return { bytes: Buffer.concat(chunks.map((c) => c.bytes)), offset: chunks[0]?.offset ?? 0 };
}

/** A message-like value: a nested message, or Time / Quantity / IntOrString. Time zero is `null`. */
function decodeValue(bytes: Uint8Array, offset: number, type: ValueType, path: string): unknown {
  if (typeof type === 'object') return decodeMessage(bytes, type.message(), path, offset);
  const fields = decodeMessage(bytes, SPECIAL[type as keyof typeof SPECIAL], path, offset);
  switch (type) {
    case 'time': {
      if (bytes.length === 0) return null;
      const seconds = Number(fields.seconds ?? 0);
      // 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, as a Timestamp must be.
      if (seconds < -62135596800 || seconds > 253402300799)
        throw new ProtobufError(`time of ${path} at byte ${offset} is out of range`);
      return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    case 'quantity': {
      const text = String(fields.string ?? '');
      if (!QUANTITY.test(text))
        throw new ProtobufError(`quantity "${text}" of ${path} at byte ${offset} is not a valid quantity`);
      return text;
    }
    default:
      return Number(fields.type ?? 0) === 1 ? String(fields.strVal ?? '') : Number(fields.intVal ?? 0);
  }
}

/** The wire shapes of the special types (meta/v1 Time, resource.Quantity, intstr.IntOrString). */
const SPECIAL = {
  time: {
    name: 'k8s.io.apimachinery.pkg.apis.meta.v1.Time',
    fields: [
      { number: 1, json: 'seconds', type: 'int64', go: 'omitempty' },
      { number: 2, json: 'nanos', type: 'int32', go: 'omitempty' },
    ],
  },
  quantity: {
    name: 'k8s.io.apimachinery.pkg.api.resource.Quantity',
    fields: [{ number: 1, json: 'string', type: 'string', go: 'omitempty' }],
  },
  intOrString: {
    name: 'k8s.io.apimachinery.pkg.util.intstr.IntOrString',
    fields: [
      { number: 1, json: 'type', type: 'int64', go: 'omitempty' },
      { number: 2, json: 'intVal', type: 'int32', go: 'omitempty' },
      { number: 3, json: 'strVal', type: 'string', go: 'omitempty' },
    ],
  },
} satisfies Record<string, MessageSchema>;

function isZero(value: unknown): boolean {
  return value === '' || value === 0 || value === false || value === null || value === undefined;
}

function zeroOf(type: ValueType): unknown {
  switch (type) {
    case 'string':
    case 'bytes':
      return '';
    case 'bool':
      return false;
    default:
      return 0;
  }
}

/** Write one field into `result` as Go's JSON encoder would. */
function emit(result: Json, spec: FieldSpec, entry: Collected | undefined, path: string): void {
  const type = spec.type;
  if (type === 'ignored' || type === 'unsupported') return;
  const name = spec.json;
  if (spec.repeated || spec.map) {
    const values = entry?.values ?? [];
    const value = spec.map ? Object.fromEntries(values as Array<[string, unknown]>) : values;
    if (values.length > 0) result[name] = value;
    else if (spec.go === 'always') result[name] = null;
    return;
  }
  if (isMessageLike(type)) {
    const present = entry !== undefined && entry.chunks.length > 0;
    if (!present && spec.go === 'nullable') {
      result[name] = null;
      return;
    }
    if (!present && (spec.go === 'pointer' || spec.go === 'omitzero')) return;
    const joined = present ? join(entry.chunks) : { bytes: new Uint8Array(), offset: 0 };
    const value = decodeValue(joined.bytes, joined.offset, type, child(path, name));
    if (spec.go === 'omitzero' && (value === null || isEmptyObject(value))) return;
    if (name === '') Object.assign(result, value as Json);
    else result[name] = value;
    return;
  }
  const values = entry?.values ?? [];
  const present = values.length > 0;
  const value = present ? values[values.length - 1] : undefined;
  switch (spec.go) {
    case 'pointer':
      if (present) result[name] = value;
      return;
    case 'nullable':
      result[name] = present ? value : null;
      return;
    case 'always':
      result[name] = present ? value : zeroOf(type);
      return;
    default:
      if (present && !isZero(value)) result[name] = value;
  }
}

function isEmptyObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}
