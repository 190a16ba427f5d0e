/**
 * Runs one scenario against one target in a fresh namespace and returns its transcript: for each
 * step, the normalised answer (and, after a write, the normalised object as stored), ready to be
 * compared with the other server's transcript.
 */
import { isKubeError } from '../../src/kube/kube-client.js';
import { dropPaths, normaliseKubectlOutput, normaliseStatus, normaliseValue } from './normalise.js';
import type { ClientStep, HttpStep, KubectlStep, Scenario, Step, WatchStep } from './scenario.js';
import type { HttpAnswer, Target } from './targets.js';

/** What one step gave on one server. */
export interface StepRecord {
  /** The step as written (placeholders unresolved), shown in diffs. */
  step: string;
  result: unknown;
  /** The stored object read back after a write. */
  read?: unknown;
}

const WATCH_TIMEOUT_MS = 10_000;

/** A short text for a step, the same on both servers. */
export function describeStep(step: Step): string {
  if ('kubectl' in step) return `kubectl ${step.kubectl.join(' ')}`;
  if ('http' in step) return step.http;
  if ('client' in step) return `client ${step.client} ${step.type.plural}${step.name ? `/${step.name}` : ''}`;
  return `watch ${step.watch}`;
}

type Variables = Map<string, string>;

function substitute<T>(value: T, namespace: string, variables: Variables): T {
  if (typeof value === 'string')
    return value
      .split('{ns}')
      .join(namespace)
      .replace(/\$([A-Za-z][A-Za-z0-9]*)/g, (whole, name: string) => variables.get(name) ?? whole) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => substitute(item, namespace, variables)) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([key, inner]) => [key, substitute(inner, namespace, variables)]),
    ) as T;
  return value;
}

function at(value: unknown, path: string): unknown {
  let node = value;
  for (const part of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return node;
}

function save(step: Step, body: unknown, variables: Variables): void {
  for (const [name, path] of Object.entries(step.save ?? {})) {
    const value = at(body, path);
    if (value !== undefined) variables.set(name, String(value));
  }
}

/**
 * The ConfigMap kube-controller-manager publishes into every namespace, at its own pace: left out
 * of lists, Tables and watch events (the embedded server has no such controller; documented).
 */
const ROOT_CA = 'kube-root-ca.crt';
const isRootCa = (object: unknown): boolean =>
  (object as { metadata?: { name?: string } } | undefined)?.metadata?.name === ROOT_CA;

/** An HTTP answer as compared: Status failures reduced, Tables to columns and cells, the rest normalised. */
function normaliseAnswer(answer: HttpAnswer, namespace: string): unknown {
  const raw = answer.body as Record<string, unknown> | string;
  const body =
    typeof raw === 'object' && Array.isArray(raw.items)
      ? { ...raw, items: raw.items.filter((item) => !isRootCa(item)) }
      : typeof raw === 'object' && Array.isArray(raw.rows)
        ? {
            ...raw,
            rows: (raw.rows as Array<{ cells: unknown[] }>).filter((row) => row.cells[0] !== ROOT_CA),
          }
        : raw;
  if (typeof body === 'string') return { code: answer.code, text: normaliseKubectlOutput(body, namespace) };
  if (body.kind === 'Status' && body.status === 'Failure')
    return { code: answer.code, status: normaliseStatus(body, namespace) };
  if (body.kind === 'Table') {
    const columns = (body.columnDefinitions as Array<Record<string, unknown>>).map(
      (column) => `${String(column.name)}:${String(column.type)}:${String(column.priority ?? 0)}`,
    );
    const rows = (body.rows as Array<{ cells: unknown[] }>).map((row) =>
      row.cells.map((cell, index) =>
        columns[index]?.startsWith('Age:') || columns[index]?.endsWith(':date:0')
          ? '<age>'
          : normaliseValue(cell, namespace),
      ),
    );
    return { code: answer.code, table: { columns, rows } };
  }
  return { code: answer.code, body: normaliseValue(body, namespace) };
}

/** The object a write step touched: POST collection + name, or the path without a subresource. */
function readPathOf(method: string, path: string, body: unknown, answer: HttpAnswer): string | undefined {
  const [plain] = path.split('?') as [string];
  if (method === 'POST') {
    const name =
      ((answer.body as { metadata?: { name?: string } } | undefined)?.metadata?.name as string | undefined) ??
      (body as { metadata?: { name?: string } } | undefined)?.metadata?.name;
    return name ? `${plain}/${name}` : undefined;
  }
  return plain.replace(/\/(status|scale)$/, '');
}

async function runHttp(
  target: Target,
  step: HttpStep,
  namespace: string,
  variables: Variables,
): Promise<Omit<StepRecord, 'step'>> {
  const [method, rawPath] = step.http.split(' ') as [string, string];
  const path = substitute(rawPath, namespace, variables);
  const body = substitute(step.body, namespace, variables);
  const answer = await target.http(method, path, {
    body,
    contentType: step.contentType,
    accept: step.accept,
  });
  save(step, answer.body, variables);
  const ignore = step.ignore ?? [];
  const record: Omit<StepRecord, 'step'> = {
    result: dropPaths(
      normaliseAnswer(answer, namespace),
      ignore.map((p) => `body.${p}`),
    ),
  };
  if (method !== 'GET' && step.read !== false) {
    const readPath =
      typeof step.read === 'string'
        ? substitute(step.read, namespace, variables)
        : readPathOf(method, path, body, answer);
    if (readPath) {
      const read = await target.http('GET', readPath);
      record.read = dropPaths(
        normaliseAnswer(read, namespace),
        ignore.map((p) => `body.${p}`),
      );
    }
  }
  return record;
}

async function runKubectl(
  target: Target,
  step: KubectlStep,
  namespace: string,
  variables: Variables,
): Promise<Omit<StepRecord, 'step'>> {
  const result = await target.kubectl(
    substitute(step.kubectl, namespace, variables),
    step.stdin === undefined ? undefined : substitute(step.stdin, namespace, variables),
  );
  if (step.codeOnly) return { result: { code: result.code } };
  let json: unknown;
  try {
    json = result.stdout.trim().startsWith('{') ? JSON.parse(result.stdout) : undefined;
  } catch {
    json = undefined;
  }
  if (json !== undefined) save(step, json, variables);
  return {
    result: {
      code: result.code,
      // -o json: compared as an object (resourceVersion, uid and times masked).
      stdout:
        json !== undefined
          ? dropPaths(normaliseValue(json, namespace), step.ignore ?? [])
          : normaliseKubectlOutput(result.stdout, namespace),
      stderr: normaliseKubectlOutput(result.stderr, namespace),
    },
  };
}

function clientError(error: unknown, namespace: string): unknown {
  if (isKubeError(error))
    return {
      code: error.code,
      status: error.status ? normaliseStatus(error.status, namespace) : { reason: error.reason },
    };
  throw error;
}

async function runClient(
  target: Target,
  step: ClientStep,
  namespace: string,
  variables: Variables,
): Promise<Omit<StepRecord, 'step'>> {
  const kube = target.kube;
  const object = substitute(step.object, namespace, variables) as
    (Record<string, unknown> & { metadata: Record<string, unknown> }) | undefined;
  const name = step.name === undefined ? undefined : substitute(step.name, namespace, variables);
  const ns = step.type.namespaced ? namespace : undefined;
  const ignore = step.ignore ?? [];
  let answer: unknown;
  try {
    switch (step.client) {
      case 'create':
        answer = await kube.create(step.type, {
          ...object,
          metadata: { namespace: ns, ...object?.metadata },
        });
        break;
      case 'replace':
        answer = await kube.replace(
          step.type,
          { ...object, metadata: { namespace: ns, ...object?.metadata } },
          step.options,
        );
        break;
      case 'get':
        answer = (await kube.get(step.type, ns, name ?? '')) ?? { notFound: true };
        break;
      case 'list': {
        const list = await kube.list(step.type, ns, step.listOptions);
        answer = { ...list, items: list.items.filter((item) => !isRootCa(item)) };
        break;
      }
      case 'patch':
        answer = await kube.patch(
          step.type,
          ns,
          name ?? '',
          substitute(step.patch, namespace, variables),
          step.patchType ?? 'merge',
          step.options,
        );
        break;
      case 'delete':
        await kube.delete(step.type, ns, name ?? '');
        answer = { deleted: true };
        break;
    }
  } catch (error) {
    return { result: clientError(error, namespace) };
  }
  save(step, answer, variables);
  const record: Omit<StepRecord, 'step'> = {
    result: dropPaths(normaliseValue(answer, namespace), ignore),
  };
  const readName = name ?? (answer as { metadata?: { name?: string } } | undefined)?.metadata?.name;
  if (step.client !== 'get' && step.client !== 'list' && readName) {
    const stored = await kube.get(step.type, ns, readName);
    record.read = dropPaths(normaliseValue(stored ?? { notFound: true }, namespace), ignore);
  }
  return record;
}

async function runWatch(
  target: Target,
  step: WatchStep,
  namespace: string,
  variables: Variables,
): Promise<Omit<StepRecord, 'step'>> {
  const stream = await target.watch(substitute(step.watch, namespace, variables));
  const until = step.until;
  const done = (): boolean =>
    until !== 'end' &&
    stream.events.some(
      (event) =>
        event.type === until.type &&
        (until.name === undefined ||
          (event.object.metadata as { name?: string } | undefined)?.name === until.name),
    );
  const deadline = Date.now() + WATCH_TIMEOUT_MS;
  let ended = false;
  void stream.ended.then(() => (ended = true));
  // Poll the collected events: the stream is read in the background.
  while (!done() && !ended && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  stream.stop();
  const timedOut = !done() && !ended;
  const events = stream.events
    .filter((event) => !isRootCa(event.object))
    .map((event) =>
      event.type === 'ERROR'
        ? { type: event.type, status: normaliseStatus(event.object, namespace) }
        : { type: event.type, object: dropPaths(normaliseValue(event.object, namespace), step.ignore ?? []) },
    );
  const last = stream.events.at(-1)?.object as { metadata?: { resourceVersion?: string } } | undefined;
  if (step.save?.rv && last?.metadata?.resourceVersion)
    variables.set(step.save.rv, last.metadata.resourceVersion);
  return { result: { code: stream.code, events, ...(timedOut ? { timedOut: true } : {}) } };
}

/** Run a scenario's steps on a target in `namespace` (which the caller created). */
export async function runScenario(
  target: Target,
  scenario: Scenario,
  namespace: string,
): Promise<StepRecord[]> {
  const variables: Variables = new Map();
  const records: StepRecord[] = [];
  for (const step of scenario.steps) {
    const record =
      'kubectl' in step
        ? await runKubectl(target, step, namespace, variables)
        : 'http' in step
          ? await runHttp(target, step, namespace, variables)
          : 'client' in step
            ? await runClient(target, step, namespace, variables)
            : await runWatch(target, step, namespace, variables);
    records.push({ step: describeStep(step), ...record });
  }
  return records;
}
