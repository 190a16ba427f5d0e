/**
 * Chaos 1, burst: 1,000 dispatches through the real receiver (tokens from the local OIDC issuer)
 * across 100 workloads while the API server fails requests (500, 503, 409 conflicts), adds
 * latency, cuts watches and answers resumes with 410 Gone, and a toucher edits requests and
 * workloads under the controller's feet (real resourceVersion conflicts). Nothing may be lost,
 * the last request per workload must win, and no workload may be patched twice for one request.
 */
import { readFileSync } from 'node:fs';
import { parseAttestationPublicKeys } from '../../src/attestation/attestation-keys.js';
import type { FaultConfig } from '../../src/apiserver/faults/fault-injector.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { RunningReceiver } from '../../src/receiver/index.js';
import { startHarness, type Harness } from '../e2e/harness.js';
import { countingKube, type AppliedPatch } from '../support/counting-kube.js';
import {
  chaosSeed,
  Dispatcher,
  newCallCounts,
  observingKube,
  Ledger,
  report,
  seededRandom,
  sleep,
  startChaosReceiver,
  verify,
  waitAllTerminal,
} from './chaos-support.js';
import { startController } from '../../src/controller/controller-manager.js';

const WORKLOADS = Number(process.env.CHAOS_WORKLOADS ?? 100);
const ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 10);
const PARALLEL = 20;

let h: Harness;
let receiver: RunningReceiver;

beforeAll(async () => {
  h = await startHarness();
  receiver = await startChaosReceiver(h, h.playground.issuer.issuer);
}, 60_000);

afterAll(async () => {
  h.playground.apiServer.faults.clear();
  await receiver.close();
  await h.close();
});

/** Run `work` over `items` with at most `parallel` at once. */
async function pool<T>(items: T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

const STEADY: FaultConfig = {
  errors: [
    { verb: 'patch', resource: 'deployments', rate: 0.08, code: 500 },
    { verb: 'patch', resource: 'deployments', rate: 0.03, code: 409 },
    { verb: 'update', resource: 'deployrequests', rate: 0.04, code: 409 },
    { verb: 'update', resource: 'deployrequests', rate: 0.02, code: 503 },
    { verb: 'create', resource: 'deployrequests', rate: 0.05, code: 500 },
    { verb: 'get', rate: 0.02, code: 500 },
    { verb: 'list', rate: 0.02, code: 500 },
    { verb: 'create', resource: 'events', rate: 0.1, code: 500 },
  ],
  latencyMs: [0, 8],
  cutWatchAfterEvents: 60,
};

test('burst: 1,000 dispatches over 100 workloads under API faults; nothing lost, last wins, no double patch', async () => {
  const started = Date.now();
  const seed = chaosSeed();
  const random = seededRandom(seed);
  const faults = h.playground.apiServer.faults;
  const namespaces = Array.from({ length: WORKLOADS }, (_, i) => `burst-${i}`);
  await pool(namespaces, 10, (namespace) => h.scenario(namespace));
  const setupMs = Date.now() - started;

  const applied: AppliedPatch[] = [];
  const counts = newCallCounts();
  const keys = await parseAttestationPublicKeys(readFileSync(h.playground.attestationPublicKeyPath, 'utf8'));
  // Faults are on before the controller starts: its first watches are cut and resumed too.
  faults.set(STEADY);
  const controller = await startController({
    kube: observingKube(countingKube(h.kube, applied), counts),
    attestationKeys: keys,
    logger: silentLogger(),
    pollMs: Number(process.env.CHAOS_POLL_MS ?? 1000),
  });

  const ledger = new Ledger();
  const dispatcher = new Dispatcher(() => receiver.url, h.playground.issuer);
  // The toucher: edits annotations of live requests and of workloads, so that the controller's
  // status writes (made with the resourceVersion it read) meet real 409 conflicts.
  let touching = true;
  let touches = 0;
  let attempts = 0;
  // A Deployment's generation moves with its annotations too (as in kube-apiserver): every accepted
  // touch of a workload (each with a new value) is counted, for the generation check.
  const workloadTouches = new Map<string, number>();
  const toucher = (async () => {
    while (touching) {
      const all = ledger.all;
      const target = all[Math.floor(random() * all.length)];
      const patch = { metadata: { annotations: { 'chaos.keyless.dev/touched': String(attempts++) } } };
      if (target) {
        const workload = `${target.namespace}/web`;
        await Promise.all([
          h.kube.patch(RESOURCE_TYPES.deployRequests, target.namespace, target.name, patch, 'merge'),
          h.kube
            .patch(RESOURCE_TYPES.deployments, target.namespace, 'web', patch, 'merge')
            .then(() => workloadTouches.set(workload, (workloadTouches.get(workload) ?? 0) + 1)),
        ]).then(
          () => touches++,
          () => undefined,
        );
      }
      await sleep(250);
    }
  })();

  let dispatchMs = 0;
  let drainMs = 0;
  try {
    const dispatchStart = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      // A 410 storm in the middle: every watch resume is refused, so informers relist.
      if (round === 4) faults.set({ ...STEADY, forceGone: true, cutWatchAfterEvents: 10 });
      if (round === 6) faults.set(STEADY);
      const order = [...namespaces].sort(() => random() - 0.5);
      const image = `ghcr.io/acme/web:${round + 2}.0.0`;
      await pool(order, PARALLEL, async (namespace) => {
        const name = await dispatcher.dispatch(namespace, image);
        ledger.add({ namespace, name, image, fails: false });
      });
    }
    dispatchMs = Date.now() - dispatchStart;
    const drainStart = Date.now();
    const requests = await waitAllTerminal(h.playground.apiServer.kubeClient(), ledger, 420_000).catch(
      (error: unknown) => {
        report({
          scenario: 'burst',
          seed,
          calls: Object.fromEntries(counts.calls),
          ms: Date.now() - started,
        });
        throw error;
      },
    );
    drainMs = Date.now() - drainStart;
    touching = false;
    await toucher;
    faults.clear();
    // Anything the controller would still do (it should do nothing more) happens before counting.
    await h.settle(controller);
    await controller.stop();

    const verdict = await verify(h.kube, ledger, requests, applied, workloadTouches);
    report({
      scenario: 'burst',
      seed,
      workloads: WORKLOADS,
      requests: dispatcher.stats.requests,
      distinctRequests: new Set(ledger.all.map((d) => `${d.namespace}/${d.name}`)).size,
      dispatchAttempts: dispatcher.stats.attempts,
      dispatchRetriesByStatus: dispatcher.stats.retried,
      faultsInjected: { ...faults.counters },
      controllerApiErrorsByCode: Object.fromEntries(counts.errors),
      controllerCalls: Object.fromEntries(counts.calls),
      touches,
      restarts: 0,
      outcomes: verdict.outcomes,
      patchesPerRequest: verdict.patchesPerRequest,
      workloadPatches: applied.length,
      rollbacks: verdict.rollbacks,
      ms: { setup: setupMs, dispatch: dispatchMs, drain: drainMs, total: Date.now() - started },
    });
    expect(verdict.violations).toEqual([]);
    expect(dispatcher.stats.requests).toBe(WORKLOADS * ROUNDS);
    expect(new Set(ledger.all.map((d) => `${d.namespace}/${d.name}`)).size).toBe(WORKLOADS * ROUNDS);
    expect(verdict.outcomes.Succeeded).toBeGreaterThanOrEqual(WORKLOADS);
    // The faults really happened, of every kind.
    expect(faults.counters.errors).toBeGreaterThan(0);
    expect(faults.counters.delayedRequests).toBeGreaterThan(0);
    expect(faults.counters.cutWatches).toBeGreaterThan(0);
    expect(faults.counters.gones).toBeGreaterThan(0);
    expect(counts.errors.get(409) ?? 0).toBeGreaterThan(0);
  } finally {
    touching = false;
    await toucher;
    faults.clear();
    await controller.stop();
  }
}, 600_000);
