/**
 * Leader election under clock skew (issue 13, finding 10). Two candidates share a Lease on the
 * embedded API server; each has its own wall clock (minutes apart) and its own monotonic clock
 * (different origins), both driven by one manual timeline so the test asserts exact windows
 * without waiting for real time. Whatever the skew, the standby never takes the Lease of a live
 * leader (two leaders at once would break per-workload ordering), and it takes over a dead
 * leader's Lease within leaseDuration (plus one retry) of its last renewal, as client-go does.
 */
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { LeaderElector, type ElectionClock } from '../../src/kube/leader-election.js';
import { killableKube } from '../support/killable-kube.js';
import { ManualTimers, settle } from '../support/manual-timers.js';

const LEASE_MS = 15_000;
const RENEW_DEADLINE_MS = 10_000;
const RETRY_MS = 2_000;
const STEP_MS = 250;
const BASE = Date.parse('2026-03-01T12:00:00Z');

let server: EmbeddedApiServer;
let store: KubeClient;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  store = server.kubeClient();
});

afterAll(async () => {
  await server.close();
});

/** Counts calls in flight, so the test moves time only once every candidate's tick has finished. */
function trackingKube(inner: KubeClient): { kube: KubeClient; readonly inFlight: number } {
  let inFlight = 0;
  const track =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      inFlight++;
      try {
        return await call(...args);
      } finally {
        inFlight--;
      }
    };
  return {
    kube: {
      ...inner,
      get: track(inner.get.bind(inner)),
      create: track(inner.create.bind(inner)),
      replace: track(inner.replace.bind(inner)),
    } as KubeClient,
    get inFlight() {
      return inFlight;
    },
  };
}

/** Two candidates on one timeline; records who leads and any moment two lead at once. */
function election(leaseName: string, skewMs: number) {
  const timers = new ManualTimers();
  const tracked = trackingKube(store);
  const leaders = new Set<string>();
  const overlaps: string[] = [];
  const startedAt: Record<string, number[]> = {};
  const candidate = (identity: string, kube: KubeClient, wallSkewMs: number, monotonicOrigin: number) => {
    const clock: ElectionClock = {
      now: () => monotonicOrigin + timers.now(),
      setTimeout: (callback, ms) => timers.setTimeout(callback, ms),
      clearTimeout: (handle) => timers.clearTimeout(handle),
    };
    return new LeaderElector({
      kube,
      namespace: 'default',
      name: leaseName,
      identity,
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_DEADLINE_MS,
      retryPeriodMs: RETRY_MS,
      clock,
      now: () => new Date(BASE + wallSkewMs + timers.now()),
      onStartedLeading: () => {
        if (leaders.size > 0)
          overlaps.push(
            `${identity} started leading at ${timers.now()} ms while ${[...leaders].join(', ')} led`,
          );
        leaders.add(identity);
        (startedAt[identity] ??= []).push(timers.now());
      },
      onStoppedLeading: () => leaders.delete(identity),
    });
  };
  const aProcess = killableKube(tracked.kube);
  const a = candidate('a', aProcess.kube, 0, 0);
  const b = candidate('b', tracked.kube, skewMs, 987_654_321);
  /** Advance the timeline by `ms` in small steps, letting every tick finish before the next. */
  const run = async (ms: number): Promise<void> => {
    for (let elapsed = 0; elapsed < ms; elapsed += STEP_MS) {
      await timers.advance(STEP_MS);
      while (tracked.inFlight > 0) await settle();
    }
  };
  return { timers, a, b, killA: () => aProcess.kill(), run, leaders, overlaps, startedAt };
}

describe('leader election follows client-go: expiry measured on the local clock from the last observed change', () => {
  test.each([
    ['5 minutes ahead', 5 * 60_000],
    ['5 minutes behind', -5 * 60_000],
    ['30 seconds ahead (twice the lease duration)', 30_000],
    ['in step', 0],
  ])(
    'a standby whose wall clock is %s never leads beside a live leader and takes over a dead one within leaseDuration',
    async (_label, skewMs) => {
      const e = election(`skew-${skewMs < 0 ? 'm' : 'p'}${Math.abs(skewMs)}`, skewMs);
      e.a.start();
      await e.run(RETRY_MS);
      expect([...e.leaders]).toEqual(['a']);
      e.b.start();
      // Both alive for four lease durations: the standby sees the Lease change at every renewal.
      await e.run(4 * LEASE_MS);
      expect(e.overlaps).toEqual([]);
      expect([...e.leaders]).toEqual(['a']);
      expect(e.startedAt.b).toBeUndefined();

      // The leader dies without releasing its Lease.
      const killedAt = e.timers.now();
      e.killA();
      await e.run(LEASE_MS + 3 * RETRY_MS);
      expect(e.overlaps).toEqual([]);
      expect([...e.leaders]).toEqual(['b']);
      const takeover = (e.startedAt.b?.[0] ?? Number.NaN) - killedAt;
      // Its last renewal was at most one retry period before the kill; b waits a full lease
      // duration after it last saw that change, then at most one more retry period.
      expect(takeover).toBeGreaterThanOrEqual(LEASE_MS - RETRY_MS);
      expect(takeover).toBeLessThanOrEqual(LEASE_MS + 2 * RETRY_MS);
      await e.a.stop();
      await e.b.stop();
    },
    30_000,
  );
});
