/**
 * Normalisation of what a server answered, so that two servers' answers compare equal exactly when
 * they agree on what matters: uids, times, resourceVersion values, continue tokens, generated name
 * suffixes and the run's namespace name are masked (their presence is still compared); Status
 * errors keep code, reason, details and causes; managedFields keep manager, operation, apiVersion
 * and subresource; kubectl output has ages masked and column padding collapsed.
 */

const UID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g;
const TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\b/g;
const MICRO_TIME_KEYS = new Set(['renewTime', 'acquireTime', 'eventTime']);

/** Replace the namespace name (unique per run) by `{ns}` in a string. */
function maskNamespace(text: string, namespace: string): string {
  return text.split(namespace).join('{ns}');
}

/** Mask uids and times in free text (messages, kubectl output). */
export function normaliseText(text: string, namespace: string): string {
  return maskNamespace(text, namespace).replace(UID, '<uid>').replace(TIME, '<time>');
}

/** kubectl output: as text, with ages masked and column padding collapsed (widths follow the ages). */
export function normaliseKubectlOutput(text: string, namespace: string): string {
  return normaliseText(text, namespace)
    .split('\n')
    .map((line) =>
      line
        .replace(/(^|\s)(\d+(ms|s|m|h|d|y))+(?=\s|$)/g, '$1<age>')
        .replace(/<invalid>/g, '<age>')
        .replace(/ {2,}/g, '  ')
        .trimEnd(),
    )
    .join('\n')
    .trim();
}

/**
 * managedFields as a set of manager/operation/apiVersion/subresource (their order carries no
 * meaning), without kube-controller-manager's entries: a real controller writes status at its own
 * pace, so whether its entry is there yet depends on timing (the embedded simulator writes status
 * in process and records no manager).
 */
function normaliseManagedFields(entries: unknown): unknown {
  if (!Array.isArray(entries)) return entries;
  return entries
    .filter((entry: Record<string, unknown>) => entry.manager !== 'kube-controller-manager')
    .map((entry: Record<string, unknown>) => ({
      manager: entry.manager,
      operation: entry.operation,
      apiVersion: entry.apiVersion,
      ...(entry.subresource !== undefined ? { subresource: entry.subresource } : {}),
    }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Deep-normalise a JSON value from an answer (object, list, Status, watch event). */
export function normaliseValue(value: unknown, namespace: string, key = ''): unknown {
  if (typeof value === 'string') {
    if (key === 'uid' && value !== '') return '<uid>';
    if (key === 'resourceVersion' && value !== '') return '<rv>';
    if (key === 'continue' && value !== '') return '<continue>';
    if (MICRO_TIME_KEYS.has(key) && value !== '') return '<time>';
    return normaliseText(value, namespace);
  }
  if (Array.isArray(value)) return value.map((item) => normaliseValue(item, namespace));
  if (value && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [field, inner] of Object.entries(object)) {
      if (field === 'managedFields') out[field] = normaliseManagedFields(inner);
      else out[field] = normaliseValue(inner, namespace, field);
    }
    const metadata = out.metadata as Record<string, unknown> | undefined;
    if (
      metadata &&
      typeof metadata.generateName === 'string' &&
      typeof metadata.name === 'string' &&
      metadata.name.startsWith(metadata.generateName)
    )
      metadata.name = `${metadata.generateName}<generated>`;
    return out;
  }
  return value;
}

/** A `kind: Status` failure, reduced to what the comparison covers. */
export function normaliseStatus(status: Record<string, unknown>, namespace: string): unknown {
  const details = (status.details ?? {}) as Record<string, unknown>;
  const causes = Array.isArray(details.causes)
    ? (details.causes as Array<Record<string, unknown>>)
        .map((cause) => ({
          reason: cause.reason,
          field: cause.field,
          message:
            typeof cause.message === 'string' ? normaliseText(cause.message, namespace) : cause.message,
        }))
        // A set: kube-apiserver's order follows Go map iteration and changes from run to run.
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
    : undefined;
  return {
    kind: status.kind,
    status: status.status,
    code: status.code,
    reason: status.reason,
    details: normaliseValue(
      {
        ...(details.name !== undefined ? { name: details.name } : {}),
        ...(details.group !== undefined ? { group: details.group } : {}),
        ...(details.kind !== undefined ? { kind: details.kind } : {}),
        ...(causes ? { causes } : {}),
      },
      namespace,
    ),
  };
}

/** Remove dotted paths (`status`, `metadata.annotations.deployment\.kubernetes\.io/revision`). */
export function dropPaths(value: unknown, paths: readonly string[]): unknown {
  if (paths.length === 0 || !value || typeof value !== 'object') return value;
  const copy = structuredClone(value) as Record<string, unknown>;
  for (const path of paths) {
    const parts = path.split(/(?<!\\)\./).map((part) => part.replace(/\\\./g, '.'));
    const visit = (node: unknown, index: number): void => {
      if (!node || typeof node !== 'object') return;
      if (Array.isArray(node)) {
        for (const item of node) visit(item, index);
        return;
      }
      const record = node as Record<string, unknown>;
      const part = parts[index] as string;
      if (index === parts.length - 1) delete record[part];
      else {
        visit(record[part], index + 1);
        // A map left empty by the removal goes too (annotations that held only the dropped key).
        const inner = record[part];
        if (inner && typeof inner === 'object' && !Array.isArray(inner) && Object.keys(inner).length === 0)
          delete record[part];
      }
    };
    visit(copy, 0);
  }
  return copy;
}
