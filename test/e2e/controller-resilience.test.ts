/**
 * Crash safety, ordering and leader election: every request ends in the right phase, the last
 * request per workload wins, and no workload is patched twice for one request. Runs on both API
 * servers (API faults: controller-api-faults.test.ts; real restarts: test/cluster/restarts.test.ts).
 */
import { readFileSync } from 'node:fs';
import { parseAttestationPublicKeys } from '../../src/attestation/attestation-keys.js';
import { startController, type RunningController } from '../../src/controller/controller-manager.js';
import { silentLogger } from '../../src/observability/logger.js';
import { countingKube, patchesFor } from '../support/counting-kube.js';
import { afterStatusWrites, killableKube, type KillableKube } from '../support/killable-kube.js';
import { waitUntil } from '../support/wait-until.js';
import { startHarness, type Harness } from './harness.js';

let h: Harness;
let keys: Awaited<ReturnType<typeof parseAttestationPublicKeys>>;

beforeAll(async () => {
  h = await startHarness();
  keys = await parseAttestationPublicKeys(readFileSync(h.playground.attestationPublicKeyPath, 'utf8'));
});

afterAll(async () => {
  await h.close();
});

describe('controller resilience', () => {
  test.each([
    ['a deploy that succeeds', 'ghcr.io/acme/web:2.0.0', 'Succeeded', ['ghcr.io/acme/web:2.0.0']],
    [
      'a deploy that fails and is rolled back',
      'ghcr.io/acme/web:fail-2',
      'RolledBack',
      ['ghcr.io/acme/web:1.0.0'],
    ],
  ])(
    'crash after every status write: %s still ends right, patched once',
    async (label, image, phase, finalImages) => {
      const namespace = `crash-${phase.toLowerCase()}`;
      // The deadline also bounds the rollback's own rollout (see controller.test.ts): 5 s.
      await h.scenario(namespace, {}, { progressDeadlineSeconds: 5 });
      const applied: Array<{ workload: string; body: string }> = [];
      const kube = countingKube(h.kube, applied);
      await h.manual(namespace, 'req', { images: [{ container: 'web', image }] });
      let restarts = 0;
      for (; restarts < 40; restarts++) {
        let crashed!: () => void;
        const crash = new Promise<void>((resolve) => (crashed = resolve));
        // The process dies right after its first status write lands: the answer never arrives.
        const replica: KillableKube = killableKube(
          afterStatusWrites(kube, () => {
            if (replica.dead) return;
            replica.kill();
            crashed();
          }),
        );
        const controller: RunningController = await startController({
          kube: replica.kube,
          attestationKeys: keys,
          logger: silentLogger(),
          pollMs: 50,
        });
        const finished = h
          .waitFor(namespace, 'req', ['Succeeded', 'RolledBack', 'Failed', 'Denied'], 20_000)
          .then(() => 'done' as const);
        const outcome = await Promise.race([crash.then(() => 'crash' as const), finished]);
        await controller.stop();
        if (outcome === 'done') break;
      }
      const done = await h.waitFor(namespace, 'req', ['Succeeded', 'RolledBack', 'Failed', 'Denied']);
      expect(`${label}: ${done.status?.phase}`).toBe(`${label}: ${phase}`);
      expect(restarts).toBeGreaterThanOrEqual(3);
      expect(await h.images(namespace)).toEqual(finalImages);
      expect(patchesFor(applied, `${namespace}/req`)).toBe(1);
      expect(patchesFor(applied, `${namespace}/req`, 'keyless.dev/rollback-of')).toBe(
        phase === 'RolledBack' ? 1 : 0,
      );
    },
  );

  test('within one second, the request the receiver accepted last wins, whatever the names', async () => {
    const controller = await h.controller();
    try {
      await h.scenario('same-second', {}, { progressDeadlineSeconds: 3 });
      await h.manual('same-second', 'a-slow', {
        images: [{ container: 'web', image: 'ghcr.io/acme/web:fail-slow' }],
      });
      await h.waitFor('same-second', 'a-slow', ['Deploying']);
      // Two dispatches within a second: their names are hashes of the tokens (random order), so
      // only the receiver's millisecond requestedAt can tell which is newer. (A manual request's
      // requestedAt is the user's word and does not count: docs/security.md › The controller.)
      const first = await h.dispatch('same-second', { target: 'web', image: 'ghcr.io/acme/web:5.0.0' });
      const second = await h.dispatch('same-second', { target: 'web', image: 'ghcr.io/acme/web:6.0.0' });
      expect([first.status, second.status]).toEqual([202, 202]);
      expect(
        (await h.waitFor('same-second', String(first.body.name), ['Superseded', 'Succeeded'], 20_000)).status
          ?.phase,
      ).toBe('Superseded');
      expect(
        (await h.waitFor('same-second', String(second.body.name), ['Succeeded', 'Failed'], 20_000)).status
          ?.phase,
      ).toBe('Succeeded');
      expect(await h.images('same-second')).toEqual(['ghcr.io/acme/web:6.0.0']);
    } finally {
      await controller.stop();
    }
  });

  test('one deploy per workload; newer requests supersede queued ones; the last one wins', async () => {
    const controller = await h.controller();
    try {
      await h.scenario('order', {}, { progressDeadlineSeconds: 2 });
      await h.manual('order', 'a-slow', {
        images: [{ container: 'web', image: 'ghcr.io/acme/web:fail-slow' }],
      });
      await h.waitFor('order', 'a-slow', ['Deploying']);
      await h.manual('order', 'b-older', { images: [{ container: 'web', image: 'ghcr.io/acme/web:3.0.0' }] });
      await h.waitFor('order', 'b-older', ['Queued']);
      await h.manual('order', 'c-newer', { images: [{ container: 'web', image: 'ghcr.io/acme/web:4.0.0' }] });
      const superseded = await h.waitFor('order', 'b-older', ['Superseded', 'Succeeded', 'Failed']);
      expect(superseded.status?.phase).toBe('Superseded');
      expect(superseded.status?.supersededBy).toBe('c-newer');
      expect(
        (await h.waitFor('order', 'a-slow', ['RolledBack', 'Failed', 'Succeeded'], 20_000)).status?.phase,
      ).toBe('RolledBack');
      expect((await h.waitFor('order', 'c-newer', ['Succeeded', 'Failed'], 20_000)).status?.phase).toBe(
        'Succeeded',
      );
      expect(await h.images('order')).toEqual(['ghcr.io/acme/web:4.0.0']);
    } finally {
      await controller.stop();
    }
  });

  test('two controllers with leader election: only the leader acts; when it stops the other takes over', async () => {
    const election = {
      namespace: 'default',
      name: 'keyless-deploy-test',
      leaseDurationMs: 1000,
      renewDeadlineMs: 800,
      retryPeriodMs: 100,
    };
    const applied: Array<{ workload: string; body: string }> = [];
    const kube = countingKube(h.kube, applied);
    const one = await startController({
      kube,
      attestationKeys: keys,
      logger: silentLogger(),
      pollMs: 50,
      leaderElection: { ...election, identity: 'one' },
    });
    const two = await startController({
      kube,
      attestationKeys: keys,
      logger: silentLogger(),
      pollMs: 50,
      leaderElection: { ...election, identity: 'two' },
    });
    try {
      await waitUntil('one replica leads', () => one.isLeader() || two.isLeader());
      expect([one.isLeader(), two.isLeader()].filter(Boolean)).toHaveLength(1);
      const [leader, standby] = one.isLeader() ? [one, two] : [two, one];
      await h.scenario('leader');
      await h.manual('leader', 'first');
      expect((await h.waitFor('leader', 'first', ['Succeeded'])).status?.phase).toBe('Succeeded');
      expect(patchesFor(applied, 'leader/first')).toBe(1);
      await leader.stop();
      await waitUntil('the standby takes over', () => standby.isLeader());
      await h.manual('leader', 'second', { images: [{ container: 'web', image: 'ghcr.io/acme/web:5.0.0' }] });
      expect((await h.waitFor('leader', 'second', ['Succeeded'])).status?.phase).toBe('Succeeded');
      expect(patchesFor(applied, 'leader/second')).toBe(1);
    } finally {
      await one.stop();
      await two.stop();
    }
  });
});

describe('controller health and metrics (the only controller running)', () => {
  test('/healthz, /readyz and /metrics (queue depth, reconcile duration, requests by phase, deploys by outcome)', async () => {
    const controller = await h.controller({ listen: { host: '127.0.0.1', port: 0 } });
    expect((await fetch(`${controller.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${controller.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toContain('leader');
    await h.scenario('e2e-metrics');
    await h.manual('e2e-metrics', 'measured');
    await h.waitFor('e2e-metrics', 'measured', ['Succeeded']);
    // The counters move right after the status write that made the request Succeeded.
    const metrics = await waitUntil('the deploy is counted', async () => {
      const text = await (await fetch(`${controller.url}/metrics`)).text();
      return /keyless_controller_deploys_total\{outcome="succeeded"\} [1-9]/.test(text) ? text : undefined;
    });
    for (const name of [
      'keyless_controller_queue_depth',
      'keyless_controller_reconcile_duration_seconds_bucket',
      'keyless_controller_deploys_total',
      'keyless_controller_transitions_total',
    ]) {
      expect(metrics).toContain(name);
    }
    expect(metrics).toMatch(/keyless_controller_deploys_total\{outcome="succeeded"\} [1-9]/);
    await controller.stop();
    expect(
      await fetch(`${controller.url}/healthz`).then(
        () => 'answered',
        () => 'closed',
      ),
    ).toBe('closed');
  });
});
