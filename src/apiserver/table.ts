/**
 * Server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`), which is what
 * `kubectl get` asks for: the real server's column sets for the built-in kinds this project uses,
 * and a CRD's `additionalPrinterColumns` (evaluated with a JSONPath subset) for custom resources.
 */
import type { StoredObject } from './object-store.js';
import type { ResourceDefinition } from './resource-registry.js';
import { labelSelectorString } from './selectors.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
  value: (object: StoredObject, now: Date) => unknown;
}

type Json = Record<string, unknown>;

/** Kubernetes' human-readable age ("5s", "3m20s", "4h", "2d3h", "120d", "3y"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(Math.max(0, ms) / 1000);
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (years < 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/**
 * Evaluate a printer-column JSONPath (`.a.b`, `.a[0]`, `.a[*].b`, `.a[?(@.k=="v")].b`) and return the
 * matched values. Anything else matches nothing (the column prints `<none>`).
 */
export function evaluateJsonPath(object: unknown, path: string): unknown[] {
  let expression = path.trim();
  if (expression.startsWith('{') && expression.endsWith('}')) expression = expression.slice(1, -1);
  if (expression.startsWith('$')) expression = expression.slice(1);
  const tokens: Array<
    { field: string } | { index: number } | { all: true } | { filter: string; equals: string }
  > = [];
  const pattern =
    /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\*\]|\[\?\(@\.([A-Za-z0-9_.-]+)\s*==\s*["']([^"']*)["']\)\]|\['([^']+)'\]/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = pattern.exec(expression)) !== null) {
    consumed = pattern.lastIndex;
    if (match[1] !== undefined) tokens.push({ field: match[1] });
    else if (match[2] !== undefined) tokens.push({ index: Number(match[2]) });
    else if (match[3] !== undefined) tokens.push({ filter: match[3], equals: match[4] ?? '' });
    else if (match[5] !== undefined) tokens.push({ field: match[5] });
    else tokens.push({ all: true });
  }
  if (consumed !== expression.length) return [];
  let values: unknown[] = [object];
  for (const token of tokens) {
    const next: unknown[] = [];
    for (const value of values) {
      if ('field' in token) {
        if (value && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, token.field))
          next.push((value as Json)[token.field]);
      } else if ('index' in token) {
        if (Array.isArray(value) && token.index < value.length) next.push(value[token.index]);
      } else if ('all' in token) {
        if (Array.isArray(value)) next.push(...value);
      } else if (Array.isArray(value)) {
        for (const item of value) {
          const candidate = evaluateJsonPath(item, `.${token.filter}`)[0];
          if (candidate !== undefined && String(candidate) === token.equals) next.push(item);
        }
      }
    }
    values = next;
  }
  return values.filter((value) => value !== undefined && value !== null);
}

const age = (object: StoredObject, now: Date): string =>
  humanDuration(now.getTime() - Date.parse(String(object.metadata.creationTimestamp ?? now.toISOString())));

function column(name: string, value: Column['value'], options: Partial<Column> = {}): Column {
  return { name, type: 'string', format: '', description: name, priority: 0, value, ...options };
}

const nameColumn = column('Name', (o) => o.metadata.name, {
  format: 'name',
  description: 'Name must be unique within a namespace.',
});
const ageColumn = column('Age', age, {
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
});

/** The pod template of a workload of `kind` (list items carry no kind, so it is passed in). */
function podTemplate(kind: string, object: StoredObject): Json {
  const spec = (object.spec ?? {}) as Json;
  if (kind === 'CronJob') return ((((spec.jobTemplate ?? {}) as Json).spec ?? {}) as Json).template as Json;
  return (spec.template ?? {}) as Json;
}

function containers(kind: string, object: StoredObject): Json[] {
  return (((((podTemplate(kind, object) ?? {}) as Json).spec ?? {}) as Json).containers as Json[]) ?? [];
}

/** The `-o wide` Containers and Images columns of a workload kind. */
function containersColumns(kind: string): Column[] {
  return [
    column(
      'Containers',
      (o) =>
        containers(kind, o)
          .map((c) => c.name)
          .join(','),
      { priority: 1 },
    ),
    column(
      'Images',
      (o) =>
        containers(kind, o)
          .map((c) => c.image)
          .join(','),
      { priority: 1 },
    ),
  ];
}

const status = (o: StoredObject): Json => (o.status ?? {}) as Json;
const spec = (o: StoredObject): Json => (o.spec ?? {}) as Json;

/** Keys in `data` and `binaryData` (a ConfigMap's or Secret's DATA column). */
function dataCount(object: StoredObject): number {
  const keys = (field: unknown): number =>
    field && typeof field === 'object' ? Object.keys(field).length : 0;
  return keys(object.data) + keys(object.binaryData);
}

const BUILTIN_COLUMNS: Record<string, Column[]> = {
  Namespace: [nameColumn, column('Status', (o) => status(o).phase), ageColumn],
  // DATA counts data and binaryData keys, as kube's printers do.
  ConfigMap: [nameColumn, column('Data', dataCount), ageColumn],
  Secret: [nameColumn, column('Type', (o) => o.type), column('Data', dataCount), ageColumn],
  Deployment: [
    nameColumn,
    column('Ready', (o) => `${Number(status(o).readyReplicas ?? 0)}/${Number(spec(o).replicas ?? 0)}`),
    column('Up-to-date', (o) => Number(status(o).updatedReplicas ?? 0), { type: 'integer' }),
    column('Available', (o) => Number(status(o).availableReplicas ?? 0), { type: 'integer' }),
    ageColumn,
    ...containersColumns('Deployment'),
  ],
  StatefulSet: [
    nameColumn,
    column('Ready', (o) => `${Number(status(o).readyReplicas ?? 0)}/${Number(spec(o).replicas ?? 0)}`),
    ageColumn,
    ...containersColumns('StatefulSet'),
  ],
  DaemonSet: [
    nameColumn,
    column('Desired', (o) => Number(status(o).desiredNumberScheduled ?? 0), { type: 'integer' }),
    column('Current', (o) => Number(status(o).currentNumberScheduled ?? 0), { type: 'integer' }),
    column('Ready', (o) => Number(status(o).numberReady ?? 0), { type: 'integer' }),
    column('Up-to-date', (o) => Number(status(o).updatedNumberScheduled ?? 0), { type: 'integer' }),
    column('Available', (o) => Number(status(o).numberAvailable ?? 0), { type: 'integer' }),
    ageColumn,
    ...containersColumns('DaemonSet'),
  ],
  CronJob: [
    nameColumn,
    column('Schedule', (o) => spec(o).schedule),
    column('Suspend', (o) => String(spec(o).suspend ?? false)),
    column('Active', (o) => ((status(o).active as unknown[]) ?? []).length, { type: 'integer' }),
    column('Last Schedule', (o, now) =>
      status(o).lastScheduleTime
        ? humanDuration(now.getTime() - Date.parse(String(status(o).lastScheduleTime)))
        : '<none>',
    ),
    ageColumn,
    ...containersColumns('CronJob'),
  ],
  Event: [
    column('Last Seen', (o, now) =>
      humanDuration(
        now.getTime() - Date.parse(String(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp)),
      ),
    ),
    column('Type', (o) => o.type),
    column('Reason', (o) => o.reason),
    column('Object', (o) => {
      const involved = (o.involvedObject ?? o.regarding ?? {}) as Json;
      return `${String(involved.kind ?? '').toLowerCase()}/${String(involved.name ?? '')}`;
    }),
    column('Message', (o) => o.message ?? o.note),
  ],
  ReplicaSet: [
    nameColumn,
    column('Desired', (o) => Number(spec(o).replicas ?? 0), { type: 'integer' }),
    column('Current', (o) => Number(status(o).replicas ?? 0), { type: 'integer' }),
    column('Ready', (o) => Number(status(o).readyReplicas ?? 0), { type: 'integer' }),
    ageColumn,
    ...containersColumns('ReplicaSet'),
    column('Selector', (o) => labelSelectorString(spec(o).selector as Json | undefined), { priority: 1 }),
  ],
  Pod: [
    nameColumn,
    column('Ready', (o) => {
      const statuses = (status(o).containerStatuses ?? []) as Json[];
      const total = ((spec(o).containers ?? []) as Json[]).length;
      return `${statuses.filter((c) => c.ready === true).length}/${total}`;
    }),
    column('Status', (o) => podPhase(o)),
    column('Restarts', (o) =>
      String(
        ((status(o).containerStatuses ?? []) as Json[]).reduce((n, c) => n + Number(c.restartCount ?? 0), 0),
      ),
    ),
    ageColumn,
    column('IP', (o) => status(o).podIP, { priority: 1 }),
    column('Node', (o) => spec(o).nodeName, { priority: 1 }),
    column('Nominated Node', (o) => status(o).nominatedNodeName, { priority: 1 }),
    column('Readiness Gates', () => undefined, { priority: 1 }),
  ],
  Lease: [nameColumn, column('Holder', (o) => spec(o).holderIdentity ?? ''), ageColumn],
  CustomResourceDefinition: [
    nameColumn,
    column('Created At', (o) => o.metadata.creationTimestamp, { type: 'date' }),
  ],
};

/** The STATUS kubectl shows for a pod: Terminating, a waiting container's reason, or the phase. */
function podPhase(pod: StoredObject): string {
  if (pod.metadata.deletionTimestamp) return 'Terminating';
  for (const container of (status(pod).containerStatuses ?? []) as Json[]) {
    const waiting = ((container.state ?? {}) as Json).waiting as Json | undefined;
    if (waiting?.reason) return String(waiting.reason);
  }
  return String(status(pod).phase ?? 'Pending');
}

function customColumns(resource: ResourceDefinition): Column[] {
  const printer = resource.printerColumns ?? [];
  const columns = printer.map((definition) => {
    const path = String(definition.jsonPath ?? '');
    const type = String(definition.type ?? 'string');
    return column(
      String(definition.name),
      (object: StoredObject, now: Date) => {
        const values = evaluateJsonPath(object, path);
        if (values.length === 0) return undefined;
        const first = values[0];
        if (type === 'date') return humanDuration(now.getTime() - Date.parse(String(first)));
        if (values.length > 1)
          return values
            .map((value) => (typeof value === 'object' ? JSON.stringify(value) : String(value)))
            .join(',');
        return typeof first === 'object' ? JSON.stringify(first) : first;
      },
      {
        type,
        format: String(definition.format ?? ''),
        description: String(definition.description ?? ''),
        priority: Number(definition.priority ?? 0),
      },
    );
  });
  const hasAge = printer.some((definition) => definition.jsonPath === '.metadata.creationTimestamp');
  return [nameColumn, ...columns, ...(printer.length === 0 || !hasAge ? [ageColumn] : [])];
}

function columnsFor(resource: ResourceDefinition): Column[] {
  if (resource.crd) return customColumns(resource);
  return BUILTIN_COLUMNS[resource.kind] ?? [nameColumn, ageColumn];
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Build a meta.k8s.io/v1 Table for objects. */
export function toTable(
  resource: ResourceDefinition,
  objects: StoredObject[],
  options: {
    includeObject?: IncludeObject;
    includeColumns?: boolean;
    resourceVersion?: string;
    now?: Date;
  } = {},
): Json {
  const now = options.now ?? new Date();
  const columns = columnsFor(resource);
  const include = options.includeObject ?? 'Metadata';
  const rows = objects.map((object) => ({
    cells: columns.map((c) => {
      const value = c.value(object, now);
      // A custom resource's column with nothing at its JSONPath is null in a real server's Table
      // (kubectl prints it blank); the built-in printers write <none>.
      if (resource.crd && (value === undefined || value === null)) return null;
      return value === undefined || value === null || value === ''
        ? c.name === 'Name'
          ? ''
          : '<none>'
        : value;
    }),
    ...(include === 'None'
      ? {}
      : {
          object:
            include === 'Object'
              ? object
              : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata },
        }),
  }));
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: options.resourceVersion ?? '' },
    columnDefinitions:
      options.includeColumns === false
        ? []
        : columns.map(({ name, type, format, description, priority }) => ({
            name,
            type,
            format,
            description,
            priority,
          })),
    rows,
  };
}
