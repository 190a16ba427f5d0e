/**
 * Chaos 3: two controllers with Lease leader election; the leader is killed mid-rollout (it cannot
 * release its Lease), the standby takes over once the Lease expires, and a fresh replica joins as
 * the new standby. Repeated while deploys (some failing, rolled back) run. Same pass criteria.
 */
import { readFileSync } from 'node:fs';
import { parseAttestationPublicKeys } from '../../src/attestation/attestation-keys.js';
import { startController, type RunningController } from '../../src/controller/controller-manager.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { RunningReceiver } from '../../src/receiver/index.js';
import { startHarness, type Harness, type Request } from '../e2e/harness.js';
import { countingKube, type AppliedPatch } from '../support/counting-kube.js';
import {
  chaosSeed,
  Dispatcher,
  driveSequences,
  Ledger,
  newCallCounts,
  observingKube,
  report,
  sleep,
  startChaosReceiver,
  verify,
  waitAllTerminal,
} from './chaos-support.js';
import { afterStatusWrites, killableKube, type KillableKube } from '../support/killable-kube.js';
import { waitUntil } from '../support/wait-until.js';

const WORKLOADS = 8;
const KILLS = 3;

let h: Harness;
let receiver: RunningReceiver;

beforeAll(async () => {
  h = await startHarness({ rolloutStepMs: 100 });
  receiver = await startChaosReceiver(h, h.playground.issuer.issuer);
}, 60_000);

afterAll(async () => {
  await receiver.close();
  await h.close();
});

interface Replica {
  identity: string;
  controller: RunningController;
  process: KillableKube;
  /** DeployRequest status writes this replica got through (it acts only while leading). */
  statusWrites: number;
}

test('two controllers with leader election: the leader is killed mid-rollout, the standby takes over, nothing lost or doubled', async () => {
  const started = Date.now();
  const seed = chaosSeed();
  const namespaces = Array.from({ length: WORKLOADS }, (_, i) => `failover-${i}`);
  for (const namespace of namespaces)
    await h.scenario(namespace, {}, { replicas: 3, progressDeadlineSeconds: 1 });
  const keys = await parseAttestationPublicKeys(readFileSync(h.playground.attestationPublicKeyPath, 'utf8'));
  const applied: AppliedPatch[] = [];
  const counts = newCallCounts();
  let launched = 0;
  const launch = async (): Promise<Replica> => {
    const identity = `replica-${launched++}`;
    const acted = { statusWrites: 0 };
    const process = killableKube(
      afterStatusWrites(observingKube(countingKube(h.kube, applied), counts), () => acted.statusWrites++),
    );
    const controller = await startController({
      kube: process.kube,
      attestationKeys: keys,
      logger: silentLogger(),
      pollMs: 100,
      leaderElection: {
        namespace: 'default',
        name: 'keyless-deploy-chaos',
        identity,
        leaseDurationMs: 1000,
        renewDeadlineMs: 800,
        retryPeriodMs: 100,
      },
    });
    return {
      identity,
      controller,
      process,
      get statusWrites() {
        return acted.statusWrites;
      },
    };
  };
  const waitForLeader = async (replicas: Replica[], timeoutMs: number): Promise<Replica> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const leaders = replicas.filter((r) => r.controller.isLeader());
      // Among live replicas there is never more than one leader.
      expect(leaders.length).toBeLessThanOrEqual(1);
      if (leaders[0]) return leaders[0];
      if (Date.now() > deadline) throw new Error(`no leader among ${replicas.map((r) => r.identity)}`);
      await sleep(20);
    }
  };
  const store = h.playground.apiServer.kubeClient();
  const rolloutUnderWay = async (): Promise<boolean> =>
    (await store.list<Request>(RESOURCE_TYPES.deployRequests, undefined)).items.some(
      (r) =>
        r.metadata.namespace?.startsWith('failover-') &&
        ['Deploying', 'RollingBack'].includes(r.status?.phase ?? ''),
    );

  let replicas = [await launch(), await launch()];
  const killedLeaders: string[] = [];
  const takeoverMs: number[] = [];
  const ledger = new Ledger();
  const dispatcher = new Dispatcher(() => receiver.url, h.playground.issuer);
  let driving = true;
  const drive = driveSequences(namespaces, dispatcher, ledger, h.kube).finally(() => (driving = false));
  try {
    for (let kill = 0; kill < KILLS; kill++) {
      const leader = await waitForLeader(replicas, 10_000);
      // Kill it once it has acted as leader, while a rollout is under way (and the run is going).
      await waitUntil('the leader has written a status', () => !driving || leader.statusWrites > 0, {
        timeoutMs: 30_000,
      });
      while (driving && !(await rolloutUnderWay())) await sleep(20);
      expect(driving).toBe(true);
      leader.process.kill();
      const killedAt = Date.now();
      await leader.controller.stop();
      killedLeaders.push(leader.identity);
      replicas = replicas.filter((r) => r !== leader);
      const next = await waitForLeader(replicas, 10_000);
      takeoverMs.push(Date.now() - killedAt);
      expect(next.identity).not.toBe(leader.identity);
      replicas.push(await launch());
    }
    const failing = await drive;
    const requests = await waitAllTerminal(store, ledger, 90_000);
    // Anything the leader would still do (it should do nothing more) happens before counting.
    await h.settle(await waitForLeader(replicas, 10_000).then((leader) => leader.controller));
    for (const replica of replicas) await replica.controller.stop();

    const verdict = await verify(h.kube, ledger, requests, applied);
    report({
      scenario: 'leader-failover',
      seed,
      workloads: WORKLOADS,
      requests: dispatcher.stats.requests,
      failingImages: failing,
      faultsInjected: { ...h.playground.apiServer.faults.counters },
      restarts: killedLeaders.length,
      killedLeaders,
      takeoverMs,
      replicasLaunched: launched,
      controllerApiErrorsByCode: Object.fromEntries(counts.errors),
      outcomes: verdict.outcomes,
      patchesPerRequest: verdict.patchesPerRequest,
      workloadPatches: applied.length,
      rollbacks: verdict.rollbacks,
      ms: Date.now() - started,
    });
    expect(verdict.violations).toEqual([]);
    expect(killedLeaders).toHaveLength(KILLS);
    expect(verdict.outcomes.RolledBack).toBe(failing);
    expect(verdict.rollbacks).toBe(failing);
  } finally {
    driving = false;
    await drive.catch(() => undefined);
    for (const replica of replicas) await replica.controller.stop();
  }
}, 180_000);
