/**
 * A simplified server-side apply. It keeps the parts users see: field ownership per manager in
 * `metadata.managedFields` (FieldsV1 `f:`/`k:` keys), merging the applied configuration into the
 * live object (lists with merge keys as associative lists, others atomic), removing fields a
 * manager applied before and no longer applies, and conflicts when another manager owns a field
 * with a different value (unless `force`). Simplifications: ownership is tracked only for Apply
 * operations (Update writes do not claim fields), and `x-kubernetes-list-type` of CRD schemas is
 * not consulted (custom resource lists are atomic).
 */
import { isDeepStrictEqual } from 'node:util';
import { copyJson, isObject, setOwn, type JsonObject } from './json-value.js';
import { mergeKeyFor } from './merge-keys.js';
import { PatchError } from './patch-error.js';

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

export interface ApplyOptions {
  manager: string;
  force: boolean;
  gvk: Gvk;
  now: string;
}

export interface ApplyResult {
  object: JsonObject;
  conflicts: Array<{ field: string; manager: string }>;
}

type Segment = string; // 'f:name' or 'k:{"name":"web"}'

/** Leaf paths of an applied configuration, in FieldsV1 segment form. */
function leafPaths(
  value: unknown,
  kind: string,
  parent: string | undefined,
  prefix: Segment[],
  out: Segment[][],
): void {
  if (!isObject(value)) {
    out.push(prefix);
    return;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) out.push(prefix);
  for (const key of keys) {
    const child = value[key];
    if (prefix.length === 0 && (key === 'apiVersion' || key === 'kind')) continue;
    if (
      prefix.length === 1 &&
      prefix[0] === 'f:metadata' &&
      [
        'name',
        'namespace',
        'resourceVersion',
        'uid',
        'managedFields',
        'creationTimestamp',
        'generation',
      ].includes(key)
    )
      continue;
    const mergeKey = Array.isArray(child) ? mergeKeyFor(kind, parent, key) : undefined;
    if (Array.isArray(child) && mergeKey) {
      for (const item of child) {
        if (!isObject(item) || item[mergeKey] === undefined)
          throw new PatchError(`list ${key}: every item needs "${mergeKey}"`, 422);
        leafPaths(
          item,
          kind,
          key,
          [...prefix, `f:${key}`, `k:${JSON.stringify({ [mergeKey]: item[mergeKey] })}`],
          out,
        );
      }
      if (child.length === 0) out.push([...prefix, `f:${key}`]);
    } else {
      leafPaths(child, kind, key, [...prefix, `f:${key}`], out);
    }
  }
}

function encode(paths: Segment[][]): JsonObject {
  const root: JsonObject = {};
  for (const path of paths) {
    let node = root;
    for (const segment of path) {
      if (!isObject(node[segment])) setOwn(node, segment, {});
      node = node[segment] as JsonObject;
    }
  }
  return root;
}

function decode(fields: unknown, prefix: Segment[] = [], out: Segment[][] = []): Segment[][] {
  if (!isObject(fields)) return out;
  const keys = Object.keys(fields).filter((key) => key !== '.');
  if (keys.length === 0 && prefix.length > 0) out.push(prefix);
  for (const key of keys) decode(fields[key], [...prefix, key], out);
  return out;
}

/** Read the value at a FieldsV1 path; undefined when absent. */
function read(object: unknown, path: Segment[]): unknown {
  let current = object;
  for (const segment of path) {
    if (segment.startsWith('f:')) {
      if (!isObject(current)) return undefined;
      current = current[segment.slice(2)];
    } else {
      if (!Array.isArray(current)) return undefined;
      const key = JSON.parse(segment.slice(2)) as JsonObject;
      const [name, value] = Object.entries(key)[0] as [string, unknown];
      current = current.find((item) => isObject(item) && item[name] === value);
    }
  }
  return current;
}

/** Remove the value at a FieldsV1 path. */
function removeAt(object: unknown, path: Segment[]): void {
  const parentPath = path.slice(0, -1);
  const container = read(object, parentPath);
  const last = path[path.length - 1] as Segment;
  if (last.startsWith('f:') && isObject(container)) delete container[last.slice(2)];
  if (last.startsWith('k:') && Array.isArray(container)) {
    const [name, value] = Object.entries(JSON.parse(last.slice(2)) as JsonObject)[0] as [string, unknown];
    const index = container.findIndex((item) => isObject(item) && item[name] === value);
    if (index >= 0) container.splice(index, 1);
  }
}

function merge(live: unknown, applied: unknown, kind: string, parent: string | undefined): unknown {
  if (!isObject(applied)) return copyJson(applied);
  const result: JsonObject = isObject(live) ? (copyJson(live) as JsonObject) : {};
  for (const key of Object.keys(applied)) {
    const value = applied[key];
    const mergeKey = Array.isArray(value) ? mergeKeyFor(kind, parent, key) : undefined;
    if (Array.isArray(value) && mergeKey) {
      const current = Array.isArray(result[key])
        ? (result[key] as unknown[]).map((item) => copyJson(item))
        : [];
      for (const item of value) {
        const index = current.findIndex(
          (existing) => isObject(existing) && isObject(item) && existing[mergeKey] === item[mergeKey],
        );
        if (index >= 0) current[index] = merge(current[index], item, kind, key);
        else current.push(copyJson(item));
      }
      setOwn(result, key, current);
    } else if (isObject(value)) {
      setOwn(result, key, merge(result[key], value, kind, key));
    } else {
      setOwn(result, key, copyJson(value));
    }
  }
  return result;
}

function pathText(path: Segment[]): string {
  return path
    .map((segment) => (segment.startsWith('f:') ? `.${segment.slice(2)}` : `[${segment.slice(2)}]`))
    .join('');
}

/** Apply `applied` as `options.manager` onto `live` (undefined: the object does not exist yet). */
export function applyServerSideApply(
  live: JsonObject | undefined,
  applied: JsonObject,
  options: ApplyOptions,
): ApplyResult {
  const kind = options.gvk.kind;
  const appliedPaths: Segment[][] = [];
  leafPaths(applied, kind, undefined, [], appliedPaths);
  const managed =
    ((live?.metadata as JsonObject | undefined)?.managedFields as JsonObject[] | undefined) ?? [];
  const conflicts: ApplyResult['conflicts'] = [];
  const others = managed.filter(
    (entry) => !(entry.manager === options.manager && entry.operation === 'Apply'),
  );
  const previous = managed.find((entry) => entry.manager === options.manager && entry.operation === 'Apply');
  const appliedKeys = new Set(appliedPaths.map((path) => JSON.stringify(path)));
  for (const entry of others) {
    if (entry.operation !== 'Apply') continue;
    for (const path of decode(entry.fieldsV1)) {
      if (!appliedKeys.has(JSON.stringify(path))) continue;
      if (!isDeepStrictEqual(read(live, path), read(applied, path)))
        conflicts.push({ field: pathText(path), manager: String(entry.manager) });
    }
  }
  if (conflicts.length > 0 && !options.force) return { object: live ?? applied, conflicts };

  const object = merge(live ?? {}, applied, kind, undefined) as JsonObject;
  // Fields this manager applied before and no longer applies are removed, unless another owns them.
  const ownedByOthers = new Set(
    others.flatMap((entry) => decode(entry.fieldsV1).map((path) => JSON.stringify(path))),
  );
  for (const path of decode(previous?.fieldsV1)) {
    const key = JSON.stringify(path);
    if (!appliedKeys.has(key) && !ownedByOthers.has(key)) removeAt(object, path);
  }
  const remaining = others
    .map((entry) => {
      if (!options.force) return entry;
      const kept = decode(entry.fieldsV1).filter((path) => !appliedKeys.has(JSON.stringify(path)));
      return { ...entry, fieldsV1: encode(kept) };
    })
    .filter((entry) => entry.operation !== 'Apply' || Object.keys(entry.fieldsV1 as JsonObject).length > 0);
  const apiVersion = options.gvk.group ? `${options.gvk.group}/${options.gvk.version}` : options.gvk.version;
  const metadata = (isObject(object.metadata) ? object.metadata : {}) as JsonObject;
  setOwn(metadata, 'managedFields', [
    ...remaining,
    {
      manager: options.manager,
      operation: 'Apply',
      apiVersion,
      time: options.now,
      fieldsType: 'FieldsV1',
      fieldsV1: encode(appliedPaths),
    },
  ]);
  setOwn(object, 'metadata', metadata);
  return { object, conflicts: [] };
}
