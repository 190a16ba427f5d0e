/**
 * Crash safety on a real control plane: a burst of 240 dispatches over 24 workloads through the
 * real receiver, while kube-apiserver is killed (SIGKILL) and started again, and then etcd is.
 * Every request must end in the right final phase, nothing may be lost or duplicated, and no
 * workload may be patched twice for one request. What was patched is read from the API server's
 * own audit log (the bodies it accepted), not from the controller's side of the wire, so a patch
 * whose answer was lost in a crash still counts. This suite starts its own control plane (it kills
 * components), so it needs the binaries of `npm run cluster-tools` also when KEYLESS_TEST_KUBECONFIG
 * points the other suites at an existing cluster.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAttestationPublicKeys } from '../../src/attestation/attestation-keys.js';
import { startController, type RunningController } from '../../src/controller/controller-manager.js';
import { silentLogger } from '../../src/observability/logger.js';
import {
  startRealControlPlane,
  type Component,
  type RealControlPlane,
} from '../../src/playground/control-plane/real-control-plane.js';
import { Dispatcher, Ledger, report, verify, waitAllTerminal } from '../chaos/chaos-support.js';
import { startHarness, type Harness } from '../e2e/harness.js';
import type { AppliedPatch } from '../support/counting-kube.js';

const WORKLOADS = 24;
const ROUNDS = 10;
const PARALLEL = 12;

let controlPlane: RealControlPlane;
let h: Harness;
let controller: RunningController | undefined;

beforeAll(async () => {
  controlPlane = await startRealControlPlane({ stateDir: mkdtempSync(join(tmpdir(), 'keyless-restarts-')) });
  h = await startHarness({ kubeconfigPath: controlPlane.adminKubeconfigPath });
}, 180_000);

afterAll(async () => {
  await controller?.stop();
  await h?.close();
  await controlPlane?.stop();
});

/** Workload patches the API server accepted, from its audit log (stage ResponseComplete, 2xx). */
function auditedPatches(path: string): AppliedPatch[] {
  const applied: AppliedPatch[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const event = JSON.parse(line) as {
      verb: string;
      stage: string;
      objectRef?: { resource?: string; namespace?: string; name?: string };
      responseStatus?: { code?: number };
      requestObject?: unknown;
    };
    if (event.verb !== 'patch' || event.stage !== 'ResponseComplete') continue;
    if (event.objectRef?.resource !== 'deployments') continue;
    if ((event.responseStatus?.code ?? 0) >= 300) continue;
    applied.push({
      workload: `${event.objectRef.namespace}/${event.objectRef.name}`,
      body: JSON.stringify(event.requestObject),
    });
  }
  return applied;
}

/** Run `work` over `items` with at most `parallel` at once. */
async function pool<T>(items: T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}

test('240 dispatches while kube-apiserver and then etcd are killed and restarted: nothing lost, last wins, no double patch', async () => {
  const started = Date.now();
  const namespaces = Array.from({ length: WORKLOADS }, (_, i) => `restart-${i}`);
  await pool(namespaces, 6, (namespace) => h.scenario(namespace, {}, { replicas: 1 }));
  const keys = await parseAttestationPublicKeys(readFileSync(h.playground.attestationPublicKeyPath, 'utf8'));
  controller = await startController({
    kube: h.kube,
    attestationKeys: keys,
    logger: silentLogger(),
    pollMs: 500,
  });

  const ledger = new Ledger();
  const dispatcher = new Dispatcher(() => h.playground.receiver.url, h.playground.issuer);
  const restarts: Array<{
    component: Component;
    round: number;
    pidBefore?: number;
    pidAfter?: number;
    ms: number;
  }> = [];
  const crash = async (component: Component, round: number): Promise<void> => {
    const pidBefore = controlPlane.pids()[component];
    const at = Date.now();
    await controlPlane.restart(component, { crash: true });
    restarts.push({
      component,
      round,
      pidBefore,
      pidAfter: controlPlane.pids()[component],
      ms: Date.now() - at,
    });
  };

  for (let round = 0; round < ROUNDS; round++) {
    const image = `ghcr.io/acme/web:${round + 2}.0.0`;
    // The crash happens while this round's dispatches are in flight.
    const fault =
      round === 3 ? crash('kube-apiserver', round) : round === 7 ? crash('etcd', round) : undefined;
    await pool([...namespaces].reverse(), PARALLEL, async (namespace) => {
      const name = await dispatcher.dispatch(namespace, image);
      ledger.add({ namespace, name, image, fails: false });
    });
    await fault;
  }
  const requests = await waitAllTerminal(h.kube, ledger, 600_000);
  await controller.stop();
  controller = undefined;

  const applied = auditedPatches(controlPlane.auditLogPath);
  const verdict = await verify(h.kube, ledger, requests, applied);
  report({
    scenario: 'real control plane restarts',
    kubernetes: controlPlane.version,
    workloads: WORKLOADS,
    requests: dispatcher.stats.requests,
    dispatchAttempts: dispatcher.stats.attempts,
    dispatchRetriesByStatus: dispatcher.stats.retried,
    restarts,
    outcomes: verdict.outcomes,
    patchesPerRequest: verdict.patchesPerRequest,
    auditedWorkloadPatches: applied.length,
    ms: Date.now() - started,
  });
  expect(verdict.violations).toEqual([]);
  expect(dispatcher.stats.requests).toBe(WORKLOADS * ROUNDS);
  expect(new Set(ledger.all.map((d) => `${d.namespace}/${d.name}`)).size).toBe(WORKLOADS * ROUNDS);
  // Both components really went away and came back as new processes while dispatches were failing.
  expect(restarts.map((r) => r.component)).toEqual(['kube-apiserver', 'etcd']);
  for (const restart of restarts) expect(restart.pidAfter).not.toBe(restart.pidBefore);
  expect(dispatcher.stats.attempts).toBeGreaterThan(dispatcher.stats.requests);
}, 900_000);
