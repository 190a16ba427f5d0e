/**
 * Shared pieces of the chaos suite: a seeded random source (the killable KubeClient is in
 * test/support/killable-kube.ts), a receiver with high rate limits, a dispatcher that retries like a
 * careful client (same token, so retries are idempotent), a ledger of what was dispatched, and the
 * verdict: every request ended in the right phase, the last request per workload won, and no
 * workload was patched twice for one request.
 */
import { dirname, join } from 'node:path';
import { TERMINAL_PHASES, type DeployPhase } from '../../src/api/types.js';
import type { KubeClient, KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { PLAYGROUND_AUDIENCE } from '../../src/playground/playground.js';
import type { LocalOidcIssuer } from '../../src/playground/oidc-issuer.js';
import { evaluatePolicies, parseImageReference } from '../../src/policy/index.js';
import {
  loadReceiverConfig,
  receiverDepsFromConfig,
  startReceiver,
  type RunningReceiver,
} from '../../src/receiver/index.js';
import type { Harness, Request } from '../e2e/harness.js';
import type { AppliedPatch } from '../support/counting-kube.js';
export { newCallCounts, observingKube, type CallCounts } from '../support/observing-kube.js';

/** The playground's audience. */
export const AUDIENCE = PLAYGROUND_AUDIENCE;

/**
 * Pause a client's retry or a chaos schedule (kills, faults). Never a stand-in for a condition:
 * waits for outcomes poll the outcome (`waitTerminal`, `waitAllTerminal`, `waitUntil`).
 */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The seed of a scenario: CHAOS_SEED when set (to replay a run), else a fresh one (printed). */
export function chaosSeed(): number {
  const given = process.env.CHAOS_SEED;
  return given ? Number(given) >>> 0 : Math.floor(Math.random() * 2 ** 32);
}

/** mulberry32: a small seeded generator, uniform on [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Retry a read that the injected faults may fail. */
export async function retry<T>(fn: () => Promise<T>, attempts = 50): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await sleep(20);
    }
  }
}

/**
 * A receiver on the harness's API server trusting `issuer`, with rate limits out of the way (the
 * playground's receiver keeps the defaults, 30 a minute) and the shortest key refresh cooldown;
 * `clock` replaces the receiver's clock (key cache cooldown, token times, `requestedAt`).
 */
export async function startChaosReceiver(
  h: Harness,
  issuer: string,
  options: { clock?: () => Date } = {},
): Promise<RunningReceiver> {
  const config = loadReceiverConfig(
    {},
    {
      listen: '127.0.0.1:0',
      'oidc-issuers': issuer,
      'oidc-audience': AUDIENCE,
      'allow-insecure-issuer': 'true',
      'attestation-key-file': join(dirname(h.playground.attestationPublicKeyPath), 'attestation-key.pem'),
      'rate-limit-per-minute': '100000',
      'rate-limit-burst': '100000',
      'oidc-key-refresh-cooldown': '1',
      'shutdown-timeout': '1',
    },
  );
  const deps = await receiverDepsFromConfig(config, {
    kube: h.kube,
    logger: silentLogger(),
    evaluatePolicies,
    parseImageReference,
    clock: options.clock,
  });
  return startReceiver({ listen: config.listen, shutdownTimeoutSeconds: 1 }, deps);
}

/** Claims of a workflow of `acme/web`, the subject WEB_POLICY allows. */
export const WEB_CLAIMS = {
  repository: 'acme/web',
  repository_id: '100000001',
  repository_owner: 'acme',
  repository_owner_id: '100000000',
};

export interface DispatchStats {
  /** Tokens minted and dispatched. */
  requests: number;
  /** HTTP calls made (with retries). */
  attempts: number;
  /** Answers that asked for a retry, by HTTP status. */
  retried: Record<string, number>;
}

/** POST /v1/dispatch with `token`; resolves with the answer. */
export async function postDispatch(
  receiverUrl: string,
  token: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${receiverUrl}/v1/dispatch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/**
 * A GitHub workflow's view of dispatching: mint a token, POST it, and on 409/429/5xx retry with the
 * SAME token (the receiver names the request after the token, so a retry cannot create a second one).
 */
export class Dispatcher {
  readonly stats: DispatchStats = { requests: 0, attempts: 0, retried: {} };

  constructor(
    private readonly receiverUrl: () => string,
    private readonly issuer: LocalOidcIssuer,
  ) {}

  /** Dispatch `image` to the Deployment `web` of `namespace`; resolves with the request's name. */
  async dispatch(namespace: string, image: string): Promise<string> {
    const token = await this.issuer.mint(WEB_CLAIMS, { audience: AUDIENCE });
    this.stats.requests++;
    for (let attempt = 1; ; attempt++) {
      this.stats.attempts++;
      let answer: { status: number; body: Record<string, unknown> };
      try {
        answer = await postDispatch(this.receiverUrl(), token, { namespace, target: 'web', image });
      } catch (error) {
        answer = { status: 0, body: { error: String(error) } };
      }
      if (answer.status === 202 || answer.status === 200) return String(answer.body.name);
      if (![0, 409, 429, 500, 503].includes(answer.status) || attempt >= 40)
        throw new Error(`dispatch to ${namespace} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
      this.stats.retried[answer.status] = (this.stats.retried[answer.status] ?? 0) + 1;
      await sleep(Math.min(500, 10 * attempt));
    }
  }
}

export interface Dispatched {
  namespace: string;
  name: string;
  image: string;
  /** The image's tag starts with `fail`: its rollout fails and must be rolled back. */
  fails: boolean;
}

/** What was dispatched, per workload (namespace) in dispatch order. */
export class Ledger {
  readonly byWorkload = new Map<string, Dispatched[]>();

  add(entry: Dispatched): void {
    const list = this.byWorkload.get(entry.namespace) ?? [];
    list.push(entry);
    this.byWorkload.set(entry.namespace, list);
  }

  get all(): Dispatched[] {
    return [...this.byWorkload.values()].flat();
  }
}

export const isFailing = (image: string): boolean => (image.split(':').pop() ?? '').startsWith('fail');

/** Wait until every dispatched request is in a terminal phase; resolves with them by `ns/name`. */
export async function waitAllTerminal(
  kube: KubeClient,
  ledger: Ledger,
  timeoutMs: number,
): Promise<Map<string, Request>> {
  const deadline = Date.now() + timeoutMs;
  const wanted = new Set(ledger.all.map((d) => `${d.namespace}/${d.name}`));
  let pending: string[] = [...wanted];
  let found = new Map<string, Request>();
  for (;;) {
    try {
      const listed = new Map<string, Request>();
      for (const request of (await kube.list<Request>(RESOURCE_TYPES.deployRequests, undefined)).items)
        listed.set(`${request.metadata.namespace}/${request.metadata.name}`, request);
      found = listed;
      pending = [...wanted].filter(
        (key) => !TERMINAL_PHASES.includes(found.get(key)?.status?.phase as DeployPhase),
      );
      if (pending.length === 0) return found;
    } catch {
      // An injected fault; poll again.
    }
    if (Date.now() > deadline) {
      const missing = pending.filter((key) => !found.has(key)).slice(0, 3);
      const direct = await Promise.all(
        missing.map(async (key) => {
          const [namespace, name] = key.split('/') as [string, string];
          const got = await kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name).catch(String);
          return `${key} not in the list; get: ${JSON.stringify(got)?.slice(0, 300)}`;
        }),
      );
      const sample = pending
        .slice(0, 5)
        .map((key) =>
          found.has(key)
            ? `${key}: ${found.get(key)?.status?.phase ?? 'no status yet'} (${found.get(key)?.status?.message})`
            : `${key}: missing`,
        );
      throw new Error(
        `${pending.length} requests not terminal after ${timeoutMs} ms, e.g. ${sample.join('; ')}; ${direct.join('; ')}`,
      );
    }
    await sleep(1000);
  }
}

/** Poll one request until it is terminal. */
export async function waitTerminal(
  kube: KubeClient,
  namespace: string,
  name: string,
  timeoutMs: number,
): Promise<Request> {
  const deadline = Date.now() + timeoutMs;
  let last: Request | undefined;
  while (Date.now() < deadline) {
    try {
      last = await kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name);
      if (TERMINAL_PHASES.includes(last?.status?.phase as DeployPhase)) return last as Request;
    } catch {
      // An injected fault or a restart; poll again.
    }
    await sleep(100);
  }
  throw new Error(`${namespace}/${name} not terminal after ${timeoutMs} ms: ${last?.status?.phase}`);
}

export interface Verdict {
  /** Every broken rule, one line each (empty when the run passed). */
  violations: string[];
  /** Requests by final phase. */
  outcomes: Record<string, number>;
  /** Requests by number of deploy patches the API server accepted for them. */
  patchesPerRequest: Record<string, number>;
  /** Rollback patches accepted. */
  rollbacks: number;
}

/**
 * The pass criteria. For each workload: its last request Succeeded and the workload runs its image;
 * an earlier request Succeeded or was Superseded (a failing image: RolledBack or Superseded);
 * a Succeeded or RolledBack request was patched exactly once, a Superseded one never; a RolledBack
 * one was rolled back exactly once and nothing else was; and the API server's own record agrees:
 * the workload's generation moved once per accepted patch (and per accepted edit of its annotations
 * by others, `annotationEdits`: a Deployment's generation follows its annotations). Nothing
 * dispatched is missing, nothing else exists in the workloads' namespaces.
 */
export async function verify(
  kube: KubeClient,
  ledger: Ledger,
  requests: Map<string, Request>,
  applied: AppliedPatch[],
  annotationEdits: ReadonlyMap<string, number> = new Map(),
): Promise<Verdict> {
  const violations: string[] = [];
  const outcomes: Record<string, number> = {};
  const patchesPerRequest: Record<string, number> = {};
  const deployPatches = new Map<string, number>();
  const rollbackPatches = new Map<string, number>();
  const perWorkload = new Map<string, number>();
  for (const patch of applied) {
    const body = JSON.parse(patch.body) as { metadata?: { annotations?: Record<string, string> } };
    const annotations = body.metadata?.annotations ?? {};
    const deployOf = annotations['keyless.dev/deploy-request'];
    const rollbackOf = annotations['keyless.dev/rollback-of'];
    if (deployOf) deployPatches.set(deployOf, (deployPatches.get(deployOf) ?? 0) + 1);
    if (rollbackOf) rollbackPatches.set(rollbackOf, (rollbackPatches.get(rollbackOf) ?? 0) + 1);
    if (!deployOf && !rollbackOf)
      violations.push(`a patch of ${patch.workload} names no request: ${patch.body}`);
    perWorkload.set(patch.workload, (perWorkload.get(patch.workload) ?? 0) + 1);
  }
  let rollbacks = 0;
  for (const [namespace, dispatched] of ledger.byWorkload) {
    const inNamespace = [...requests.values()].filter((r) => r.metadata.namespace === namespace);
    if (inNamespace.length !== dispatched.length)
      violations.push(
        `${namespace}: ${inNamespace.length} DeployRequests exist, ${dispatched.length} were dispatched`,
      );
    dispatched.forEach((entry, index) => {
      const key = `${namespace}/${entry.name}`;
      const phase = requests.get(key)?.status?.phase ?? 'missing';
      outcomes[phase] = (outcomes[phase] ?? 0) + 1;
      const last = index === dispatched.length - 1;
      const allowed = last
        ? ['Succeeded']
        : entry.fails
          ? ['RolledBack', 'Superseded']
          : ['Succeeded', 'Superseded'];
      if (!allowed.includes(phase))
        violations.push(
          `${key} (${entry.image}, ${last ? 'last' : `#${index + 1}`}) ended ${phase}, expected ${allowed.join('|')}`,
        );
      const deploys = deployPatches.get(key) ?? 0;
      const rolledBack = rollbackPatches.get(key) ?? 0;
      patchesPerRequest[deploys] = (patchesPerRequest[deploys] ?? 0) + 1;
      rollbacks += rolledBack;
      const expectedDeploys = phase === 'Superseded' ? 0 : 1;
      if (deploys !== expectedDeploys)
        violations.push(
          `${key} (${phase}) patched the workload ${deploys} times, expected ${expectedDeploys}`,
        );
      const expectedRollbacks = phase === 'RolledBack' ? 1 : 0;
      if (rolledBack !== expectedRollbacks)
        violations.push(
          `${key} (${phase}) rolled the workload back ${rolledBack} times, expected ${expectedRollbacks}`,
        );
    });
    const workload = await retry(() => kube.get<KubeObject>(RESOURCE_TYPES.deployments, namespace, 'web'));
    const spec = workload?.spec as { template: { spec: { containers: Array<{ image: string }> } } };
    const images = spec.template.spec.containers.map((c) => c.image);
    const lastImage = dispatched[dispatched.length - 1]?.image;
    if (images.length !== 1 || images[0] !== lastImage)
      violations.push(`${namespace}/web runs ${images.join(',')}, expected ${lastImage}`);
    // The API server bumps generation on every spec change (each accepted patch changed the image)
    // and, for Deployments, on every change of annotations.
    const generation = workload?.metadata.generation ?? 0;
    const patched = perWorkload.get(`${namespace}/web`) ?? 0;
    const edits = annotationEdits.get(`${namespace}/web`) ?? 0;
    if (generation - 1 !== patched + edits)
      violations.push(
        `${namespace}/web is at generation ${generation} but ${patched} patches and ${edits} annotation edits were counted`,
      );
  }
  return { violations, outcomes, patchesPerRequest, rollbacks };
}

/** Print a scenario's counts as one JSON line. */
export function report(counts: Record<string, unknown>): void {
  console.log(JSON.stringify(counts));
}

/**
 * Per workload (namespace), concurrently: three requests one after the other, each awaited to a
 * final phase (the second is a failing image, to be rolled back, on every other workload), then
 * two back to back (the first may finish or be superseded; the last must win: the receiver's
 * millisecond `requestedAt` orders them). Returns how many failing images were dispatched.
 */
export async function driveSequences(
  namespaces: string[],
  dispatcher: Dispatcher,
  ledger: Ledger,
  kube: KubeClient,
): Promise<number> {
  let failing = 0;
  await Promise.all(
    namespaces.map(async (namespace, w) => {
      const one = async (tag: string): Promise<string> => {
        const image = `ghcr.io/acme/web:${tag}`;
        const name = await dispatcher.dispatch(namespace, image);
        ledger.add({ namespace, name, image, fails: isFailing(image) });
        if (isFailing(image)) failing++;
        return name;
      };
      for (const tag of [`2.${w}.0`, w % 2 === 0 ? `fail-${w}` : `3.${w}.0`, `4.${w}.0`]) {
        const name = await one(tag);
        await waitTerminal(kube, namespace, name, 60_000);
      }
      await one(`5.${w}.0`);
      await one(`6.${w}.0`);
    }),
  );
  return failing;
}
