/**
 * How a Kubernetes protobuf message maps to the JSON the API server stores: per field its number
 * (a fact of the wire format, from Kubernetes' `generated.proto`), its JSON name, its value type,
 * and how Go's JSON encoder treats it (pointer, `omitempty`, always written, `omitzero`), so that a
 * decoded body becomes the same JSON object the real server would store.
 */

/** How the Go field is written to JSON. */
export type GoJson =
  /** A pointer: written when it was on the wire (even when zero), else left out. */
  | 'pointer'
  /** A pointer without `omitempty`: written when it was on the wire, else `null`. */
  | 'nullable'
  /** `omitempty` on a scalar, slice or map: left out when zero or empty. */
  | 'omitempty'
  /** No `omitempty`: always written, zero when absent (a slice or map absent is `null`). */
  | 'always'
  /** A struct value (not a pointer): always written, `{}`-like when absent. */
  | 'value'
  /** A struct value with `omitzero`: left out when zero. */
  | 'omitzero';

/** A value type: a scalar, a Kubernetes special type, a nested message, or one not decoded here. */
export type ValueType =
  | 'string'
  | 'bytes'
  | 'bool'
  | 'int32'
  | 'int64'
  /** meta/v1 Time: seconds since the epoch, written as RFC 3339 (whole seconds, as the server keeps). */
  | 'time'
  /** resource.Quantity: its string form. */
  | 'quantity'
  /** intstr.IntOrString: a number or a string. */
  | 'intOrString'
  | { message: () => MessageSchema }
  /** A field Kubernetes defines that this decoder does not: the body is refused with 415. */
  | 'unsupported'
  /** A field the server drops on writes (status of kinds with a status subresource): framing checked only. */
  | 'ignored';

export interface FieldSpec {
  number: number;
  /** JSON name; '' for an embedded struct whose fields are inlined into the parent. */
  json: string;
  type: ValueType;
  go: GoJson;
  /** Repeated field (a JSON array). */
  repeated?: boolean;
  /** A map with string keys and values of `type` (a JSON object). */
  map?: boolean;
}

export interface MessageSchema {
  /** Fully qualified name, e.g. `io.k8s.api.core.v1.Container` (for error messages). */
  name: string;
  /** Fields in Go struct order (the order JSON keys are written in). */
  fields: FieldSpec[];
}

/** Define a message. */
export function message(name: string, fields: FieldSpec[]): MessageSchema {
  const numbers = new Set<number>();
  for (const field of fields) {
    if (numbers.has(field.number)) throw new Error(`${name}: field ${field.number} defined twice`);
    numbers.add(field.number);
  }
  return { name, fields };
}

type Options = Partial<Pick<FieldSpec, 'go'>>;

/** A singular field. Default Go treatment: `omitempty`. */
export function field(number: number, json: string, type: ValueType, options: Options = {}): FieldSpec {
  return { number, json, type, go: options.go ?? 'omitempty' };
}

/** A repeated field. Default Go treatment: `omitempty`. */
export function list(number: number, json: string, type: ValueType, options: Options = {}): FieldSpec {
  return { number, json, type, go: options.go ?? 'omitempty', repeated: true };
}

/** A map<string, type> field. Default Go treatment: `omitempty`. */
export function map(number: number, json: string, type: ValueType, options: Options = {}): FieldSpec {
  return { number, json, type, go: options.go ?? 'omitempty', map: true };
}

/** A nested message, lazily referenced (tables refer to each other). */
export function of(schema: () => MessageSchema): ValueType {
  return { message: schema };
}
