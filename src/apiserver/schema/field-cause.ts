/** A Kubernetes StatusCause for one field, with the message formats kube-apiserver uses. */
export interface FieldCause {
  reason: string;
  field: string;
  message: string;
}

/** JSON rendering of a value the way kube's field errors quote it. */
export function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object') return `"${Array.isArray(value) ? 'array' : 'object'}"`;
  return String(value);
}

export const causes = {
  required: (field: string): FieldCause => ({
    reason: 'FieldValueRequired',
    field,
    message: 'Required value',
  }),
  invalid: (field: string, value: unknown, detail: string): FieldCause => ({
    reason: 'FieldValueInvalid',
    field,
    message: `Invalid value: ${quote(value)}: ${detail}`,
  }),
  /** A value of the wrong JSON type: the message names the type it has, as kube-apiserver's does. */
  typeInvalid: (field: string, type: string, detail: string): FieldCause => ({
    reason: 'FieldValueTypeInvalid',
    field,
    message: `Invalid value: "${type}": ${detail}`,
  }),
  notSupported: (field: string, value: unknown, allowed: unknown[]): FieldCause => ({
    reason: 'FieldValueNotSupported',
    field,
    message: `Unsupported value: ${quote(value)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
  }),
  tooLong: (field: string, max: number): FieldCause => ({
    reason: 'FieldValueTooLong',
    field,
    message: `Too long: may not be more than ${max} bytes`,
  }),
  tooMany: (field: string, actual: number, max: number): FieldCause => ({
    reason: 'FieldValueTooMany',
    field,
    message: `Too many: ${actual}: must have at most ${max} items`,
  }),
  duplicate: (field: string, value: unknown): FieldCause => ({
    reason: 'FieldValueDuplicate',
    field,
    message: `Duplicate value: ${JSON.stringify(value)}`,
  }),
  forbidden: (field: string, detail: string): FieldCause => ({
    reason: 'FieldValueForbidden',
    field,
    message: `Forbidden: ${detail}`,
  }),
};
