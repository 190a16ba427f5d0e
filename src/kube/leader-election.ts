/**
 * Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it:
 * the holder renews `renewTime` every `retryPeriod`; others take the Lease only when it has not
 * been renewed for `leaseDuration`. Every write carries the resourceVersion read, so two
 * candidates racing for an expired Lease cannot both win (the API server answers one with 409).
 * A leader that cannot renew within `renewDeadline` stops leading at once.
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
  now?: () => Date;
}

/** Runs one candidate in a Lease-based election until stopped. */
export class LeaderElector {
  private leading: AbortController | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(private readonly options: LeaderElectionOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
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
    if (this.timer) clearTimeout(this.timer);
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
      const acquired = await this.tryAcquireOrRenew();
      if (acquired) {
        this.lastRenew = Date.now();
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
    if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) {
      this.loseLeadership('could not renew within the renew deadline');
    }
    if (!this.stopped) {
      this.timer = setTimeout(() => void this.tick(), this.retryPeriodMs);
      this.timer.unref();
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

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { kube, namespace, name, identity } = this.options;
    const type = RESOURCE_TYPES.leases;
    const now = this.now();
    const nowIso = toMicroTime(now);
    const leaseDurationSeconds = Math.max(1, Math.round(this.leaseDurationMs / 1000));
    const existing = await kube.get<Lease>(type, namespace, name);
    if (!existing) {
      try {
        await kube.create<Lease>(type, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds,
            acquireTime: nowIso,
            renewTime: nowIso,
            leaseTransitions: 0,
          },
        });
        return true;
      } catch (error) {
        if (isKubeError(error, 409)) return false;
        throw error;
      }
    }
    const spec = existing.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewedAt = spec.renewTime ? Date.parse(spec.renewTime) : 0;
    const duration = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
    const expired = holder === '' || renewedAt + duration < now.getTime();
    if (holder !== identity && !expired) return false;
    const next: Lease = {
      ...existing,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds,
        renewTime: nowIso,
        acquireTime: holder === identity ? (spec.acquireTime ?? nowIso) : nowIso,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1),
      },
    };
    try {
      await kube.replace<Lease>(type, next);
      return true;
    } catch (error) {
      if (isKubeError(error, 409)) return false;
      throw error;
    }
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
function toMicroTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
