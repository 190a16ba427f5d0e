/**
 * JSON helpers shared by the patch algorithms: safe object construction (keys such as
 * `__proto__` become plain own properties, never prototypes), deep copies, and a nesting limit so
 * hostile input gets a 400 instead of a stack overflow.
 */
import { PatchError } from './patch-error.js';

export type JsonObject = Record<string, unknown>;

/** Deepest nesting a patch or object may have. */
export const MAX_DEPTH = 100;

/** Is this a plain JSON object (not an array, not null)? */
export function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Set a property as an own, enumerable data property, whatever its name. */
export function setOwn(target: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Deep copy of a JSON value, checking the nesting depth. */
export function copyJson(value: unknown, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new PatchError(`nesting deeper than ${MAX_DEPTH} levels`);
  if (Array.isArray(value)) return value.map((item) => copyJson(item, depth + 1));
  if (isObject(value)) {
    const copy: JsonObject = {};
    for (const key of Object.keys(value)) setOwn(copy, key, copyJson(value[key], depth + 1));
    return copy;
  }
  return value;
}
