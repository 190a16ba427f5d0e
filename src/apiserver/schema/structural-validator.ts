/**
 * Validation of a custom resource against its CRD's structural schema, in the order kube-apiserver
 * does it: prune unknown fields (recording them for `fieldValidation=Strict`), apply defaults, then
 * check types, formats, enums, bounds, required fields, list types and CEL rules, collecting every
 * problem as a field cause.
 */
import { isDeepStrictEqual } from 'node:util';
import { clone } from '../object-store.js';
import { causes, quote, type FieldCause } from './field-cause.js';
import { evaluateRule } from './cel-rules.js';

type Schema = Record<string, unknown>;
type Json = Record<string, unknown>;

const MAX_DEPTH = 100;

interface Context {
  causes: FieldCause[];
  unknownFields: string[];
  warnings: string[];
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

function formatError(format: string, value: unknown): string | undefined {
  if (typeof value === 'string') {
    switch (format) {
      case 'date-time':
        return RFC3339.test(value) && !Number.isNaN(Date.parse(value))
          ? undefined
          : 'in body must be of type date-time';
      case 'date':
        return /^\d{4}-\d{2}-\d{2}$/.test(value) ? undefined : 'in body must be of type date';
      case 'byte':
        return /^[A-Za-z0-9+/]*={0,2}$/.test(value) ? undefined : 'in body must be of type byte';
      case 'uri':
        return URL.canParse(value) ? undefined : 'in body must be of type uri';
      default:
        return undefined;
    }
  }
  if (typeof value === 'number') {
    if (format === 'int32' && (value < -2147483648 || value > 2147483647))
      return 'in body must be of type int32';
    if (format === 'int64' && !Number.isSafeInteger(value)) return 'in body must be of type int64';
  }
  return undefined;
}

function typeOk(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isObject(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function jsonType(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Remove fields the schema does not know; returns the pruned value. */
function prune(schema: Schema, value: unknown, path: string, ctx: Context, depth: number): unknown {
  if (depth > MAX_DEPTH) return value;
  if (schema['x-kubernetes-preserve-unknown-fields'] === true && !schema.properties) return value;
  if (isObject(value)) {
    const properties = schema.properties as Record<string, Schema> | undefined;
    const additional = schema.additionalProperties as Schema | boolean | undefined;
    const result: Json = {};
    for (const [key, item] of Object.entries(value)) {
      if (properties && Object.hasOwn(properties, key)) {
        Object.defineProperty(result, key, {
          value: prune(properties[key] as Schema, item, join(path, key), ctx, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else if (isObject(additional)) {
        Object.defineProperty(result, key, {
          value: prune(additional, item, join(path, key), ctx, depth + 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else if (additional === true || schema['x-kubernetes-preserve-unknown-fields'] === true) {
        Object.defineProperty(result, key, {
          value: item,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else if (
        schema['x-kubernetes-embedded-resource'] === true &&
        ['apiVersion', 'kind', 'metadata'].includes(key)
      ) {
        Object.defineProperty(result, key, {
          value: item,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        ctx.unknownFields.push(join(path, key));
      }
    }
    return result;
  }
  if (Array.isArray(value) && isObject(schema.items)) {
    return value.map((item, index) =>
      prune(schema.items as Schema, item, `${path}[${index}]`, ctx, depth + 1),
    );
  }
  return value;
}

/** Apply `default`s for absent properties (recursively into present objects and list items). */
function applyDefaults(schema: Schema, value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) return value;
  if (isObject(value)) {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [key, property] of Object.entries(properties)) {
      if (!Object.hasOwn(value, key) && property.default !== undefined) {
        Object.defineProperty(value, key, {
          value: clone(property.default),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      if (Object.hasOwn(value, key)) value[key] = applyDefaults(property, value[key], depth + 1);
    }
    if (isObject(schema.additionalProperties)) {
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(properties, key))
          value[key] = applyDefaults(schema.additionalProperties, value[key], depth + 1);
      }
    }
    return value;
  }
  if (Array.isArray(value) && isObject(schema.items))
    return value.map((item) => applyDefaults(schema.items as Schema, item, depth + 1));
  return value;
}

function validate(
  schema: Schema,
  value: unknown,
  old: unknown,
  hasOld: boolean,
  path: string,
  ctx: Context,
  depth: number,
): void {
  if (depth > MAX_DEPTH) {
    ctx.causes.push(causes.invalid(path, value, `nesting deeper than ${MAX_DEPTH} levels`));
    return;
  }
  if (value === null) {
    if (schema.nullable !== true)
      ctx.causes.push(
        causes.invalid(
          path,
          value,
          `${path} in body must be of type ${String(schema.type ?? 'object')}: "null"`,
        ),
      );
    return;
  }
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  if (intOrString) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      ctx.causes.push(
        causes.typeInvalid(
          path,
          jsonType(value),
          `${path} in body must be of type integer or string: "${jsonType(value)}"`,
        ),
      );
      return;
    }
  } else if (typeof schema.type === 'string' && !typeOk(schema.type, value)) {
    ctx.causes.push(
      causes.typeInvalid(
        path,
        jsonType(value),
        `${path} in body must be of type ${schema.type}: "${jsonType(value)}"`,
      ),
    );
    return;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((allowed) => isDeepStrictEqual(allowed, value))) {
    ctx.causes.push(causes.notSupported(path, value, schema.enum));
  }
  if (typeof schema.format === 'string') {
    const problem = formatError(schema.format, value);
    if (problem) ctx.causes.push(causes.invalid(path, value, `${path} ${problem}`));
  }
  if (typeof value === 'string') {
    const length = [...value].length;
    if (typeof schema.maxLength === 'number' && length > schema.maxLength)
      ctx.causes.push(causes.tooLong(path, schema.maxLength));
    if (typeof schema.minLength === 'number' && length < schema.minLength) {
      ctx.causes.push(
        causes.invalid(path, value, `${path} in body should be at least ${schema.minLength} chars long`),
      );
    }
    if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
      ctx.causes.push(causes.invalid(path, value, `${path} in body should match '${schema.pattern}'`));
    }
  }
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number') {
      const exclusive = schema.exclusiveMinimum === true;
      if (exclusive ? value <= schema.minimum : value < schema.minimum) {
        ctx.causes.push(
          causes.invalid(
            path,
            value,
            `${path} in body should be greater than ${exclusive ? '' : 'or equal to '}${schema.minimum}`,
          ),
        );
      }
    }
    if (typeof schema.maximum === 'number') {
      const exclusive = schema.exclusiveMaximum === true;
      if (exclusive ? value >= schema.maximum : value > schema.maximum) {
        ctx.causes.push(
          causes.invalid(
            path,
            value,
            `${path} in body should be less than ${exclusive ? '' : 'or equal to '}${schema.maximum}`,
          ),
        );
      }
    }
  }
  if (Array.isArray(value)) {
    if (typeof schema.maxItems === 'number' && value.length > schema.maxItems)
      ctx.causes.push(causes.tooMany(path, value.length, schema.maxItems));
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) {
      ctx.causes.push(
        causes.invalid(path, value.length, `${path} in body should have at least ${schema.minItems} items`),
      );
    }
    const listType = schema['x-kubernetes-list-type'];
    if (listType === 'set') {
      value.forEach((item, index) => {
        if (value.findIndex((other) => isDeepStrictEqual(other, item)) !== index)
          ctx.causes.push(causes.duplicate(`${path}[${index}]`, item));
      });
    }
    if (listType === 'map' && Array.isArray(schema['x-kubernetes-list-map-keys'])) {
      const keys = schema['x-kubernetes-list-map-keys'] as string[];
      const seen = new Set<string>();
      value.forEach((item, index) => {
        if (!isObject(item)) return;
        const id = JSON.stringify(keys.map((key) => item[key]));
        if (seen.has(id))
          ctx.causes.push(
            causes.duplicate(`${path}[${index}]`, Object.fromEntries(keys.map((key) => [key, item[key]]))),
          );
        seen.add(id);
      });
    }
    if (isObject(schema.items)) {
      value.forEach((item, index) => {
        const oldItem = correlatedOldItem(schema, item, old, index);
        validate(
          schema.items as Schema,
          item,
          oldItem.value,
          hasOld && oldItem.found,
          `${path}[${index}]`,
          ctx,
          depth + 1,
        );
      });
    }
  }
  if (isObject(value)) {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const size = Object.keys(value).length;
    if (typeof schema.maxProperties === 'number' && size > schema.maxProperties)
      ctx.causes.push(causes.tooMany(path, size, schema.maxProperties));
    if (typeof schema.minProperties === 'number' && size < schema.minProperties) {
      ctx.causes.push(
        causes.invalid(path, size, `${path} in body should have at least ${schema.minProperties} properties`),
      );
    }
    for (const key of (schema.required as string[] | undefined) ?? []) {
      if (!Object.hasOwn(value, key)) ctx.causes.push(causes.required(join(path, key)));
    }
    for (const [key, item] of Object.entries(value)) {
      const child = Object.hasOwn(properties, key)
        ? properties[key]
        : isObject(schema.additionalProperties)
          ? schema.additionalProperties
          : undefined;
      if (!child) continue;
      const oldChild = isObject(old) && Object.hasOwn(old, key) ? old[key] : undefined;
      validate(
        child,
        item,
        oldChild,
        hasOld && isObject(old) && Object.hasOwn(old, key),
        join(path, key),
        ctx,
        depth + 1,
      );
    }
  }
  for (const combinator of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = schema[combinator];
    if (!Array.isArray(list)) continue;
    const results = list.map((sub) => {
      const inner: Context = { causes: [], unknownFields: [], warnings: [] };
      validate(sub as Schema, value, old, hasOld, path, inner, depth + 1);
      return inner.causes;
    });
    if (combinator === 'allOf') results.forEach((r) => ctx.causes.push(...r));
    if (combinator === 'anyOf' && !results.some((r) => r.length === 0))
      ctx.causes.push(causes.invalid(path, value, `${path} in body must match at least one schema in anyOf`));
    if (combinator === 'oneOf' && results.filter((r) => r.length === 0).length !== 1)
      ctx.causes.push(causes.invalid(path, value, `${path} in body must match exactly one schema in oneOf`));
  }
  if (isObject(schema.not)) {
    const inner: Context = { causes: [], unknownFields: [], warnings: [] };
    validate(schema.not, value, old, hasOld, path, inner, depth + 1);
    if (inner.causes.length === 0)
      ctx.causes.push(causes.invalid(path, value, `${path} in body must not match the schema in not`));
  }
  for (const rule of (schema['x-kubernetes-validations'] as Array<Record<string, unknown>> | undefined) ??
    []) {
    const outcome = evaluateRule(String(rule.rule), value, old, hasOld);
    if (outcome.ok === true) continue;
    if (outcome.ok === 'unenforced') {
      ctx.warnings.push(
        `rule not enforced by the embedded API server at ${path || '<root>'}: ${String(rule.rule)} (${outcome.reason})`,
      );
      continue;
    }
    const fieldPath = typeof rule.fieldPath === 'string' ? `${path}${rule.fieldPath}` : path;
    const message = typeof rule.message === 'string' ? rule.message : `failed rule: ${String(rule.rule)}`;
    const detail = outcome.message && !rule.message ? `${message}: ${outcome.message}` : message;
    ctx.causes.push({
      reason: typeof rule.reason === 'string' ? rule.reason : 'FieldValueInvalid',
      field: fieldPath,
      // kube-apiserver 1.36 quotes a scalar value and leaves an object or list out.
      message:
        value !== null && typeof value === 'object'
          ? `Invalid value: ${detail}`
          : `Invalid value: ${quote(value)}: ${detail}`,
    });
  }
}

/** For transition rules on list items: the old item with the same map keys (list-type map) or none. */
function correlatedOldItem(
  schema: Schema,
  item: unknown,
  old: unknown,
  _index: number,
): { found: boolean; value: unknown } {
  if (!Array.isArray(old) || schema['x-kubernetes-list-type'] !== 'map' || !isObject(item))
    return { found: false, value: undefined };
  const keys = (schema['x-kubernetes-list-map-keys'] as string[] | undefined) ?? [];
  const match = old.find(
    (candidate) => isObject(candidate) && keys.every((key) => isDeepStrictEqual(candidate[key], item[key])),
  );
  return match === undefined ? { found: false, value: undefined } : { found: true, value: match };
}

export interface PrepareResult {
  object: Record<string, unknown>;
  causes: FieldCause[];
  unknownFields: string[];
  warnings: string[];
}

/**
 * Prune, default and validate a custom resource against `schema` (a version's openAPIV3Schema).
 * `apiVersion`, `kind` and `metadata` are the server's business and pass through untouched.
 */
export function prepareCustomResource(
  schema: Record<string, unknown>,
  object: Record<string, unknown>,
  oldObject: Record<string, unknown> | undefined,
  _options: { fieldValidation?: 'Strict' | 'Warn' | 'Ignore' } = {},
): PrepareResult {
  const ctx: Context = { causes: [], unknownFields: [], warnings: [] };
  const { apiVersion, kind, metadata, ...body } = object;
  const rootSchema: Schema = { ...schema, properties: { ...((schema.properties ?? {}) as Json) } };
  delete (rootSchema.properties as Json).apiVersion;
  delete (rootSchema.properties as Json).kind;
  delete (rootSchema.properties as Json).metadata;
  const pruned = prune(rootSchema, body, '', ctx, 0) as Json;
  const defaulted = applyDefaults(rootSchema, pruned, 0) as Json;
  const oldBody = oldObject
    ? Object.fromEntries(
        Object.entries(oldObject).filter(([key]) => !['apiVersion', 'kind', 'metadata'].includes(key)),
      )
    : undefined;
  validate(
    {
      ...rootSchema,
      required: ((schema.required as string[] | undefined) ?? []).filter(
        (key) => !['apiVersion', 'kind', 'metadata'].includes(key),
      ),
    },
    defaulted,
    oldBody,
    oldObject !== undefined,
    '',
    ctx,
    0,
  );
  return {
    object: { apiVersion, kind, metadata, ...defaulted },
    causes: ctx.causes,
    unknownFields: ctx.unknownFields,
    warnings: ctx.warnings,
  };
}
