/**
 * Who wrote a DeployRequest's status, from `metadata.managedFields` (kube-apiserver records, for
 * each manager, the status fields its last writes set; the embedded API server does the same, see
 * src/apiserver/status-managed-fields.ts). The controller acts on a phase and recorded images only
 * when it wrote them: any other manager owning a status field means someone else wrote it (issue
 * 13, finding 8), and the controller authorises the request again from the start.
 *
 * The manager name is chosen by the client, so this catches a writer who does not pretend to be
 * the controller; the chart grants `deployrequests/status` to the controller only, and rollbacks
 * take their images from the workload (deploy-request-reconciler.ts), not from status.
 */
import { isDeepStrictEqual } from 'node:util';
import type { KubeObject } from '../kube/kube-client.js';

interface ManagedFieldsEntry {
  manager?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

/**
 * Managers other than `trusted` that own a field of `object`'s status that the status still has,
 * except `status.github` (the GitHub reporter's progress, which never decides a deploy). Fields a
 * manager once set but that are gone are ignored: kube-apiserver may keep listing them for it.
 * Empty when only trusted managers wrote what the status says.
 */
export function foreignStatusWriters(object: KubeObject, trusted: readonly string[]): string[] {
  const entries = (object.metadata.managedFields ?? []) as ManagedFieldsEntry[];
  const status = object.status;
  const foreign = entries.filter((entry) => {
    if (entry.subresource !== 'status' || trusted.includes(entry.manager ?? '')) return false;
    return leafPaths(entry.fieldsV1?.['f:status']).some(
      (path) => path[0] !== 'f:github' && present(status, path),
    );
  });
  return [...new Set(foreign.map((entry) => entry.manager || '(no manager)'))];
}

/** The leaf paths (FieldsV1 segments) of a FieldsV1 object. */
function leafPaths(fields: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (typeof fields !== 'object' || fields === null) return out;
  const keys = Object.keys(fields).filter((key) => key !== '.');
  if (keys.length === 0 && prefix.length > 0) out.push(prefix);
  for (const key of keys) leafPaths((fields as Record<string, unknown>)[key], [...prefix, key], out);
  return out;
}

/** Does `value` have the field at `path` (`f:name`, `k:{json}` list item by keys, `v:json`, `i:N`)? */
function present(value: unknown, path: string[]): boolean {
  let node = value;
  for (const segment of path) {
    if (segment.startsWith('f:')) {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) return false;
      node = (node as Record<string, unknown>)[segment.slice(2)];
      if (node === undefined) return false;
    } else if (Array.isArray(node)) {
      const items: unknown[] = node;
      const match = (item: unknown): boolean => {
        try {
          if (segment.startsWith('i:')) return items.indexOf(item) === Number(segment.slice(2));
          if (segment.startsWith('v:')) return isDeepStrictEqual(item, JSON.parse(segment.slice(2)));
          const keys = JSON.parse(segment.slice(2)) as Record<string, unknown>;
          return Object.entries(keys).every(([key, want]) =>
            isDeepStrictEqual((item as Record<string, unknown> | null)?.[key], want),
          );
        } catch {
          return false;
        }
      };
      node = items.find(match);
      if (node === undefined) return false;
    } else {
      return false;
    }
  }
  return true;
}
