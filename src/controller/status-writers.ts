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
import type { KubeObject } from '../kube/kube-client.js';

interface ManagedFieldsEntry {
  manager?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

/**
 * Managers other than `trusted` that own a field of `object`'s status, except `status.github`
 * (the GitHub reporter's progress, which never decides a deploy). Empty when only trusted
 * managers wrote it.
 */
export function foreignStatusWriters(object: KubeObject, trusted: readonly string[]): string[] {
  const entries = (object.metadata.managedFields ?? []) as ManagedFieldsEntry[];
  const foreign = entries.filter((entry) => {
    if (entry.subresource !== 'status' || trusted.includes(entry.manager ?? '')) return false;
    const status = entry.fieldsV1?.['f:status'];
    if (typeof status !== 'object' || status === null) return false;
    return Object.keys(status).some((field) => field !== '.' && field !== 'f:github');
  });
  return [...new Set(foreign.map((entry) => entry.manager || '(no manager)'))];
}
