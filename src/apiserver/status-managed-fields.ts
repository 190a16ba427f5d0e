/**
 * `metadata.managedFields` for Update writes (PUT or non-apply PATCH) of the status subresource,
 * as kube-apiserver records them: the writer's entry (`operation: Update`, `subresource: status`)
 * owns the status fields its write added or changed; those fields, and the ones it removed, leave
 * every other manager's status entry; entries left with no fields are dropped. Simplification:
 * lists are atomic (kube-apiserver tracks `x-kubernetes-list-type: map` items one by one), which
 * changes which list items an entry names, never whether a manager owns something in status.
 */
import { isDeepStrictEqual } from 'node:util';

type Json = Record<string, unknown>;
type Entry = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Leaf fields of `value` under `prefix` (FieldsV1 segments joined by NUL), with their values. */
function leaves(value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (!isObject(value) || Object.keys(value).length === 0) {
    out.set(prefix, value);
    return out;
  }
  for (const [key, child] of Object.entries(value)) leaves(child, `${prefix}\u0000f:${key}`, out);
  return out;
}

/** The leaf paths a FieldsV1 object names. */
function decode(fields: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (!isObject(fields)) return out;
  const keys = Object.keys(fields).filter((key) => key !== '.');
  if (keys.length === 0 && prefix !== '') out.add(prefix);
  for (const key of keys) decode(fields[key], prefix === '' ? key : `${prefix}\u0000${key}`, out);
  return out;
}

/** FieldsV1 of a set of leaf paths. */
function encode(paths: Iterable<string>): Json {
  const root: Json = {};
  for (const path of paths) {
    let node = root;
    for (const segment of path.split('\u0000')) {
      const next = isObject(node[segment]) ? (node[segment] as Json) : {};
      node[segment] = next;
      node = next;
    }
  }
  return root;
}

/**
 * Record in `metadata` that `manager` changed status from `before` to `after` at `time` for
 * `apiVersion`. Returns nothing: `metadata.managedFields` is replaced.
 */
export function recordStatusUpdate(
  metadata: Json,
  manager: string,
  apiVersion: string,
  time: string,
  before: unknown,
  after: unknown,
): void {
  const old = leaves(before ?? {}, 'f:status', new Map());
  const now = leaves(after ?? {}, 'f:status', new Map());
  const changed = [...now.keys()].filter(
    (path) => !old.has(path) || !isDeepStrictEqual(old.get(path), now.get(path)),
  );
  const removed = [...old.keys()].filter((path) => !now.has(path));
  if (changed.length === 0 && removed.length === 0) return;
  const gone = new Set([...changed, ...removed]);
  const isMine = (entry: Entry): boolean =>
    entry.manager === manager && entry.operation === 'Update' && entry.subresource === 'status';
  const entries = ((metadata.managedFields as Entry[] | undefined) ?? []).flatMap((entry): Entry[] => {
    if (entry.subresource !== 'status' || isMine(entry)) return [entry];
    const kept = [...decode(entry.fieldsV1)].filter((path) => !gone.has(path));
    return kept.length > 0 ? [{ ...entry, fieldsV1: encode(kept) }] : [];
  });
  const mine = entries.find(isMine);
  const owned = new Set(
    [...decode(mine?.fieldsV1)].filter((path) => !removed.includes(path) && now.has(path)),
  );
  for (const path of changed) owned.add(path);
  const rest = entries.filter((entry) => entry !== mine);
  if (owned.size > 0)
    rest.push({
      manager,
      operation: 'Update',
      apiVersion,
      time,
      fieldsType: 'FieldsV1',
      fieldsV1: encode(owned),
      subresource: 'status',
    });
  metadata.managedFields = rest;
}
