/**
 * A tiny protobuf encoder for tests: builds Kubernetes protobuf bodies (`k8s\0` + runtime.Unknown)
 * field by field, so tests can send well-formed bodies and precisely broken ones.
 */

/** A varint's bytes (64-bit two's complement for negative numbers). */
export function varint(value: number | bigint): Buffer {
  let rest = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let byte = Number(rest & 0x7fn);
    rest >>= 7n;
    if (rest > 0n) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0n);
  return Buffer.from(bytes);
}

/** A field's key: number and wire type. */
export function tag(field: number, wire: number): Buffer {
  return varint((BigInt(field) << 3n) | BigInt(wire));
}

/** A length-delimited field (string, bytes or nested message). */
export function bytesField(field: number, value: Buffer | string): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([tag(field, 2), varint(data.length), data]);
}

/** A varint field. */
export function varintField(field: number, value: number | bigint | boolean): Buffer {
  return Buffer.concat([tag(field, 0), varint(typeof value === 'boolean' ? (value ? 1 : 0) : value)]);
}

/** A message: its fields concatenated. */
export function msg(...fields: Buffer[]): Buffer {
  return Buffer.concat(fields);
}

/** A map<string, string> entry field. */
export function mapEntry(field: number, key: string, value: string | Buffer): Buffer {
  return bytesField(field, msg(bytesField(1, key), bytesField(2, value)));
}

/** The body kubectl sends: `k8s\0` and a runtime.Unknown with apiVersion, kind and the object's bytes. */
export function k8sBody(
  apiVersion: string,
  kind: string,
  object: Buffer,
  extra: Buffer = Buffer.alloc(0),
): Buffer {
  const typeMeta = msg(bytesField(1, apiVersion), bytesField(2, kind));
  return Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    bytesField(1, typeMeta),
    bytesField(2, object),
    extra,
  ]);
}

/** ObjectMeta with a name (and namespace). */
export function objectMeta(name: string, namespace?: string, labels: Record<string, string> = {}): Buffer {
  return msg(
    bytesField(1, name),
    ...(namespace ? [bytesField(3, namespace)] : []),
    ...Object.entries(labels).map(([key, value]) => mapEntry(11, key, value)),
  );
}
