/**
 * Chaos 2: the controller is killed and restarted again and again while rollouts are under way
 * (slow simulated rollouts, some failing and rolled back). A kill is abrupt: requests on the wire
 * may still land, their answers are lost, nothing is drained or released. Every request must end
 * right, the last one per workload must win, each deploy and each rollback happens exactly once.
 */
import { readFileSync } from 'node:fs';
import { parseAttestationPublicKeys } from '../../src/attestation/attestation-keys.js';
import { startController, type RunningController } from '../../src/controller/controller-manager.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { RunningReceiver } from '../../src/receiver/index.js';
import { startHarness, type Harness } from '../e2e/harness.js';
import { countingKube, type AppliedPatch } from '../support/counting-kube.js';
import {
  chaosSeed,
  Dispatcher,
  driveSequences,
  Ledger,
  newCallCounts,
  observingKube,
  report,
  seededRandom,
  sleep,
  startChaosReceiver,
  verify,
  waitAllTerminal,
} from './chaos-support.js';
import { afterStatusWrites, killableKube, type KillableKube } from '../support/killable-kube.js';

const WORKLOADS = 10;
const MIN_RESTARTS = 8;

let h: Harness;
let receiver: RunningReceiver;

beforeAll(async () => {
  // Slow rollouts: three replicas, one step every 100 ms; failing images time out after 1 s.
  h = await startHarness({ rolloutStepMs: 100 });
  receiver = await startChaosReceiver(h, h.playground.issuer.issuer);
}, 60_000);

afterAll(async () => {
  await receiver.close();
  await h.close();
});

test('controller killed and restarted repeatedly mid-rollout: every request ends right, deploys and rollbacks happen once', async () => {
  const started = Date.now();
  const seed = chaosSeed();
  const random = seededRandom(seed);
  const namespaces = Array.from({ length: WORKLOADS }, (_, i) => `restarts-${i}`);
  for (const namespace of namespaces)
    await h.scenario(namespace, {}, { replicas: 3, progressDeadlineSeconds: 1 });
  const faults = h.playground.apiServer.faults;
  // A little latency widens the window in which a kill lands between a write and its answer.
  faults.set({ latencyMs: [0, 10] });
  const keys = await parseAttestationPublicKeys(readFileSync(h.playground.attestationPublicKeyPath, 'utf8'));
  const applied: AppliedPatch[] = [];
  const counts = newCallCounts();
  let killsAfterStatusWrite = 0;

  const launch = async (): Promise<{ controller: RunningController; process: KillableKube }> => {
    // Now and then the process dies right after a status write, before its next side effect.
    const process: KillableKube = killableKube(
      afterStatusWrites(observingKube(countingKube(h.kube, applied), counts), () => {
        if (!process.dead && random() < 0.04) {
          killsAfterStatusWrite++;
          process.kill();
        }
      }),
    );
    const controller = await startController({
      kube: process.kube,
      attestationKeys: keys,
      logger: silentLogger(),
      pollMs: 100,
    });
    return { controller, process };
  };

  let current = await launch();
  let restarts = 0;
  let running = true;
  const killer = (async () => {
    while (running) {
      await sleep(200 + random() * 500);
      if (!running) break;
      current.process.kill();
      await current.controller.stop();
      restarts++;
      await sleep(random() * 150);
      current = await launch();
    }
  })();

  const ledger = new Ledger();
  const dispatcher = new Dispatcher(() => receiver.url, h.playground.issuer);
  let failing = 0;
  try {
    failing = await driveSequences(namespaces, dispatcher, ledger, h.kube);
    const requests = await waitAllTerminal(h.playground.apiServer.kubeClient(), ledger, 90_000);
    running = false;
    await killer;
    // Anything the last controller would still do (it should do nothing more) happens before counting.
    await h.settle(current.controller);
    await current.controller.stop();
    faults.clear();

    const verdict = await verify(h.kube, ledger, requests, applied);
    report({
      scenario: 'controller-restarts',
      seed,
      workloads: WORKLOADS,
      requests: dispatcher.stats.requests,
      failingImages: failing,
      faultsInjected: { ...faults.counters },
      restarts,
      killsRightAfterStatusWrite: killsAfterStatusWrite,
      controllerApiErrorsByCode: Object.fromEntries(counts.errors),
      outcomes: verdict.outcomes,
      patchesPerRequest: verdict.patchesPerRequest,
      workloadPatches: applied.length,
      rollbacks: verdict.rollbacks,
      ms: Date.now() - started,
    });
    expect(verdict.violations).toEqual([]);
    expect(restarts).toBeGreaterThanOrEqual(MIN_RESTARTS);
    expect(failing).toBe(WORKLOADS / 2);
    // Failing images were awaited one at a time: none could be superseded, each was rolled back once.
    expect(verdict.outcomes.RolledBack).toBe(failing);
    expect(verdict.rollbacks).toBe(failing);
  } finally {
    running = false;
    await killer;
    faults.clear();
    await current.controller.stop();
  }
}, 180_000);
