/** RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, everything else replaces. */
import { copyJson, isObject, MAX_DEPTH, setOwn, type JsonObject } from './json-value.js';
import { PatchError } from './patch-error.js';

function merge(target: unknown, patch: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new PatchError(`nesting deeper than ${MAX_DEPTH} levels`);
  if (!isObject(patch)) return copyJson(patch, depth);
  const result: JsonObject = isObject(target) ? (copyJson(target, depth) as JsonObject) : {};
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (value === null) delete result[key];
    else setOwn(result, key, merge(Object.hasOwn(result, key) ? result[key] : undefined, value, depth + 1));
  }
  return result;
}

/** Apply a JSON merge patch; the inputs are not modified. */
export function applyMergePatch(original: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw new PatchError('a merge patch must be a JSON object');
  return merge(original, patch, 0);
}
