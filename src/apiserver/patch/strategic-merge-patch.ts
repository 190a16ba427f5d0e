/**
 * Kubernetes strategic merge patch for built-in kinds: like a merge patch, but lists with a merge
 * key (containers by name, env by name, ...) merge item by item, and the directives `$patch`
 * (replace, delete, merge), `$retainKeys` and `$deleteFromPrimitiveList/<list>` are honoured.
 * `$setElementOrder/<list>` is accepted and ignored: merged lists keep the original order and new
 * items go last (kubectl sends it to keep an order, which nothing here relies on).
 */
import { copyJson, isObject, MAX_DEPTH, setOwn, type JsonObject } from './json-value.js';
import { isSetList, mergeKeyFor } from './merge-keys.js';
import { PatchError } from './patch-error.js';

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

function mergeList(
  original: unknown[],
  patch: unknown[],
  key: string,
  kind: string,
  field: string,
  depth: number,
): unknown[] {
  const result = original.map((item) => copyJson(item, depth));
  for (const item of patch) {
    if (!isObject(item)) {
      result.push(copyJson(item, depth));
      continue;
    }
    const keyValue = item[key];
    const index = result.findIndex(
      (existing) => isObject(existing) && existing[key] === keyValue && keyValue !== undefined,
    );
    if (item.$patch === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (item.$patch === 'replace') {
      const { $patch: _ignored, ...rest } = item;
      if (index >= 0) result[index] = copyJson(rest, depth);
      else result.push(copyJson(rest, depth));
      continue;
    }
    if (index >= 0) result[index] = mergeObject(result[index], item, kind, field, depth + 1);
    else result.push(mergeObject(undefined, item, kind, field, depth + 1));
  }
  return result;
}

function mergeObject(
  original: unknown,
  patch: JsonObject,
  kind: string,
  parent: string | undefined,
  depth: number,
): unknown {
  if (depth > MAX_DEPTH) throw new PatchError(`nesting deeper than ${MAX_DEPTH} levels`);
  const directive = patch.$patch;
  if (directive === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return copyJson(rest, depth);
  }
  if (directive === 'delete') return undefined;
  if (directive !== undefined && directive !== 'merge')
    throw new PatchError(`unknown patch directive "${String(directive)}"`);
  const result: JsonObject = isObject(original) ? (copyJson(original, depth) as JsonObject) : {};
  for (const key of Object.keys(patch)) {
    const value = patch[key];
    if (key === '$patch' || key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      const field = key.slice('$deleteFromPrimitiveList/'.length);
      if (!Array.isArray(value)) throw new PatchError(`${key} must be a list`);
      const current = result[field];
      if (Array.isArray(current))
        setOwn(
          result,
          field,
          current.filter((item) => !value.includes(item)),
        );
      continue;
    }
    if (key.startsWith('$')) throw new PatchError(`unknown patch directive "${key}"`);
    if (value === null) {
      delete result[key];
    } else if (Array.isArray(value)) {
      const mergeKey = mergeKeyFor(kind, parent, key);
      const current = Array.isArray(result[key]) ? (result[key] as unknown[]) : [];
      if (mergeKey) setOwn(result, key, mergeList(current, value, mergeKey, kind, key, depth + 1));
      else if (isSetList(key))
        setOwn(result, key, [...current, ...value.filter((item) => !current.includes(item))]);
      else setOwn(result, key, copyJson(value, depth + 1));
    } else if (isObject(value)) {
      const merged = mergeObject(
        Object.hasOwn(result, key) ? result[key] : undefined,
        value,
        kind,
        key,
        depth + 1,
      );
      if (merged === undefined) delete result[key];
      else setOwn(result, key, merged);
    } else {
      setOwn(result, key, value);
    }
  }
  const retain = patch.$retainKeys;
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw new PatchError('$retainKeys must be a list');
    for (const key of Object.keys(result)) if (!retain.includes(key)) delete result[key];
  }
  return result;
}

/** Apply a strategic merge patch to an object of a built-in kind; the inputs are not modified. */
export function applyStrategicMergePatch(original: unknown, patch: unknown, gvk: Gvk): unknown {
  if (!isObject(patch)) throw new PatchError('a strategic merge patch must be a JSON object');
  const merged = mergeObject(original, patch, gvk.kind, undefined, 0);
  if (merged === undefined)
    throw new PatchError('a strategic merge patch cannot delete the whole object', 422);
  return merged;
}
