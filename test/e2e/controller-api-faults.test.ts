/**
 * The controller under API server faults injected by the embedded API server (errors, latency, cut
 * watches, 410 Gone): slower, but nothing lost or duplicated. A real kube-apiserver and etcd are
 * killed and restarted under load in test/cluster/restarts.test.ts.
 */
import { readFileSync } from 'node:fs';
import { parseAttestationPublicKeys } from '../../src/attestation/attestation-keys.js';
import { startController } from '../../src/controller/controller-manager.js';
import { silentLogger } from '../../src/observability/logger.js';
import { countingKube, patchesFor } from '../support/counting-kube.js';
import { waitUntil } from '../support/wait-until.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
let keys: Awaited<ReturnType<typeof parseAttestationPublicKeys>>;

beforeAll(async () => {
  h = await startHarness();
  keys = await parseAttestationPublicKeys(readFileSync(h.playground.attestationPublicKeyPath, 'utf8'));
});

afterAll(async () => {
  h.playground.apiServer.faults.clear();
  await h.close();
});

describe('controller under API faults', () => {
  test('API server faults (errors, latency, cut watches, 410) slow it down but lose or duplicate nothing', async () => {
    const workloads = 5;
    const perWorkload = 3;
    for (let w = 0; w < workloads; w++) await h.scenario(`faults-${w}`);
    const applied: Array<{ workload: string; body: string }> = [];
    const faults = h.playground.apiServer.faults;
    // Faults are on before the controller starts, so its informers' watches are cut and resumed.
    faults.set({ cutWatchAfterEvents: 4, latencyMs: [0, 15] });
    const controller = await startController({
      kube: countingKube(h.kube, applied),
      attestationKeys: keys,
      logger: silentLogger(),
      pollMs: 50,
    });
    try {
      faults.set({
        errors: [
          { verb: 'patch', resource: 'deployments', rate: 0.3, code: 500 },
          { verb: 'update', resource: 'deployrequests', rate: 0.2, code: 503 },
          { verb: 'list', rate: 0.1, code: 500 },
        ],
        latencyMs: [0, 15],
        cutWatchAfterEvents: 4,
      });
      for (let r = 0; r < perWorkload; r++) {
        for (let w = 0; w < workloads; w++) {
          await h.manual(`faults-${w}`, `r${r}`, {
            images: [{ container: 'web', image: `ghcr.io/acme/web:${r + 2}.0.0` }],
          });
        }
      }
      // The fault phases move on with the run, not with the clock: a 410 storm once the first
      // faults have hit, then steady patch errors once watches have been refused a few times.
      let phasesDone = false;
      const phases = (async () => {
        await waitUntil('the first faults have hit', () => phasesDone || faults.counters.errors >= 3, {
          timeoutMs: 40_000,
        });
        if (phasesDone) return;
        faults.set({
          forceGone: true,
          cutWatchAfterEvents: 2,
          errors: [{ verb: 'patch', resource: 'deployments', rate: 0.3 }],
        });
        await waitUntil('watches were refused with 410', () => phasesDone || faults.counters.gones >= 3, {
          timeoutMs: 40_000,
        });
        if (phasesDone) return;
        faults.set({ errors: [{ verb: 'patch', resource: 'deployments', rate: 0.3 }], latencyMs: 5 });
      })();
      for (let w = 0; w < workloads; w++) {
        const last = await h.waitFor(
          `faults-${w}`,
          `r${perWorkload - 1}`,
          ['Succeeded', 'Failed', 'Denied'],
          40_000,
        );
        expect(last.status?.phase).toBe('Succeeded');
        for (let r = 0; r < perWorkload - 1; r++) {
          const earlier = await h.waitFor(
            `faults-${w}`,
            `r${r}`,
            ['Succeeded', 'Superseded', 'Failed', 'Denied'],
            40_000,
          );
          expect(['Succeeded', 'Superseded']).toContain(earlier.status?.phase);
        }
        expect(await h.images(`faults-${w}`)).toEqual([`ghcr.io/acme/web:${perWorkload + 1}.0.0`]);
        for (let r = 0; r < perWorkload; r++)
          expect(patchesFor(applied, `faults-${w}/r${r}`)).toBeLessThanOrEqual(1);
      }
      phasesDone = true;
      await phases;
      console.log(
        `faults injected: ${JSON.stringify(faults.counters)}; workload patches applied: ${applied.length}`,
      );
      expect(faults.counters.errors).toBeGreaterThan(0);
      expect(faults.counters.cutWatches).toBeGreaterThan(0);
    } finally {
      faults.clear();
      await controller.stop();
    }
  }, 60_000);
});
