/**
 * Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * the holder renews `renewTime` every `retryPeriod`; others take the Lease only when they have
 * not seen the Lease record change for `leaseDuration`, measured on their own monotonic clock
 * from the moment they last observed a change. The holder's `renewTime` is written for people and
 * tools but never compared with the local wall clock, so clock skew between nodes cannot make a
 * candidate think a live leader's Lease expired (two leaders would break per-workload ordering).
 * Every write carries the resourceVersion read, so two candidates racing for an expired Lease
 * cannot both win (the API server answers one with 409). A leader that cannot renew within
 * `renewDeadline` (local monotonic time, shorter than `leaseDuration`) stops leading at once.
 */
import type { Logger } from '../observability/logger.js';
import { isKubeError, type KubeClient, type KubeObject } from './kube-client.js';
import { RESOURCE_TYPES } from './resource-types.js';

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/**
 * The candidate's local clock and timers. `now` is monotonic milliseconds: only differences are
 * used, never compared with another node's time.
 */
export interface ElectionClock {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Monotonic time and unref'd Node timers (the election never keeps a process alive). */
const systemClock: ElectionClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface LeaderElectionOptions {
  kube: KubeClient;
  namespace: string;
  /** Lease name, e.g. `keyless-deploy-controller`. */
  name: string;
  /** This candidate's identity (pod name plus a random suffix). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger?: Logger;
  /** Called when this candidate becomes leader; the signal aborts when leadership ends. */
  onStartedLeading: (signal: AbortSignal) => void;
  /** Called when leadership ends (lost or released). */
  onStoppedLeading?: () => void;
  /** Wall clock written into `acquireTime`/`renewTime` (informational only, never compared). */
  now?: () => Date;
  /** Local monotonic clock and timers that measure expiry and the renew deadline. */
  clock?: ElectionClock;
}

/** Runs one candidate in a Lease-based election until stopped. */
export class LeaderElector {
  private leading: AbortController | undefined;
  private stopped = false;
  private timer: unknown;
  private lastRenew = 0;
  /** The Lease record (spec) as last seen, and when (local monotonic ms) it was seen to change. */
  private observedRecord: string | undefined;
  private observedTime = 0;
  private readonly clock: ElectionClock;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(private readonly options: LeaderElectionOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    this.clock = options.clock ?? systemClock;
  }

  /** True while this candidate holds the Lease. */
  get isLeader(): boolean {
    return this.leading !== undefined;
  }

  /** Start campaigning (returns at once; the election runs on timers). */
  start(): void {
    this.stopped = false;
    void this.tick();
  }

  /** Stop campaigning; a leader releases the Lease so another replica takes over without waiting. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    if (this.leading) {
      this.loseLeadership('stopped');
      await this.release();
    }
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      const renewedAt = await this.tryAcquireOrRenew();
      if (renewedAt !== undefined) {
        this.lastRenew = renewedAt;
        if (!this.leading) {
          this.leading = new AbortController();
          this.options.logger?.info(
            { lease: this.options.name, identity: this.options.identity },
            'became leader',
          );
          this.options.onStartedLeading(this.leading.signal);
        }
      } else if (this.leading) {
        this.loseLeadership('lease taken by another candidate');
      }
    } catch (error) {
      this.options.logger?.warn({ err: error, lease: this.options.name }, 'lease update failed');
    }
    if (this.leading && this.clock.now() - this.lastRenew > this.renewDeadlineMs) {
      this.loseLeadership('could not renew within the renew deadline');
    }
    if (!this.stopped) {
      this.timer = this.clock.setTimeout(() => void this.tick(), this.retryPeriodMs);
    }
  }

  private loseLeadership(reason: string): void {
    const leading = this.leading;
    if (!leading) return;
    this.leading = undefined;
    this.options.logger?.warn({ lease: this.options.name, reason }, 'stopped leading');
    leading.abort(new Error(reason));
    this.options.onStoppedLeading?.();
  }

  /** Acquire or renew; the local time just before the successful write, or undefined. */
  private async tryAcquireOrRenew(): Promise<number | undefined> {
    const { kube, namespace, name, identity } = this.options;
    const type = RESOURCE_TYPES.leases;
    const nowIso = toMicroTime(this.now());
    const leaseDurationSeconds = Math.max(1, Math.round(this.leaseDurationMs / 1000));
    const existing = await kube.get<Lease>(type, namespace, name);
    // The leader dates its renewal from before the write is sent (its renew deadline then runs out
    // early rather than late); observers date a change from after they read it (expiry comes late).
    const writeStarted = this.clock.now();
    if (!existing) {
      const spec: LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds,
        acquireTime: nowIso,
        renewTime: nowIso,
        leaseTransitions: 0,
      };
      try {
        await kube.create<Lease>(type, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec,
        });
        this.observe(spec, this.clock.now());
        return writeStarted;
      } catch (error) {
        if (isKubeError(error, 409)) return undefined;
        throw error;
      }
    }
    const spec = existing.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    // client-go's rule: expiry counts from when THIS candidate last saw the record change, on its
    // own clock; the holder's renewTime (another node's wall clock) is never compared with ours.
    this.observe(spec, writeStarted);
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    const expired = holder === '' || this.observedTime + duration <= this.clock.now();
    if (holder !== identity && !expired) return undefined;
    const nextSpec: LeaseSpec = {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: nowIso,
      acquireTime: holder === identity ? (spec.acquireTime ?? nowIso) : nowIso,
      leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
    };
    try {
      await kube.replace<Lease>(type, { ...existing, spec: nextSpec });
      this.observe(nextSpec, this.clock.now());
      return writeStarted;
    } catch (error) {
      if (isKubeError(error, 409)) return undefined;
      throw error;
    }
  }

  /** Remember `spec` as the observed record, restarting the expiry count when it changed. */
  private observe(spec: LeaseSpec, at: number): void {
    const record = JSON.stringify([
      spec.holderIdentity ?? '',
      spec.leaseDurationSeconds,
      spec.acquireTime,
      spec.renewTime,
      spec.leaseTransitions,
    ]);
    if (record === this.observedRecord) return;
    this.observedRecord = record;
    this.observedTime = at;
  }

  private async release(): Promise<void> {
    const { kube, namespace, name, identity } = this.options;
    try {
      const lease = await kube.get<Lease>(RESOURCE_TYPES.leases, namespace, name);
      if (!lease || lease.spec?.holderIdentity !== identity) return;
      await kube.replace<Lease>(RESOURCE_TYPES.leases, {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          renewTime: toMicroTime(this.now()),
        },
      });
      this.options.logger?.info({ lease: name }, 'released lease');
    } catch (error) {
      this.options.logger?.warn({ err: error, lease: name }, 'could not release lease');
    }
  }
}

/** metav1.MicroTime format: RFC 3339 with microseconds. */
export function toMicroTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
