/**
 * Fault injection for reliability tests: errors at a rate per verb and resource, added latency,
 * watch streams cut after N events or T ms, and forced 410 Gone on watch. Counters record every
 * fault injected so that chaos tests can print what they survived.
 */

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

export interface ErrorRule {
  /** Verb to fail; any verb when absent. */
  verb?: Verb;
  /** Resource plural to fail (e.g. `deployments`); any when absent. */
  resource?: string;
  /** Probability 0..1 that a matching request fails. */
  rate: number;
  /** HTTP status to answer; default 500 (InternalError). 409 answers a Conflict, 429 TooManyRequests, 503 ServiceUnavailable. */
  code?: number;
}

export interface FaultConfig {
  errors?: ErrorRule[];
  /** Added latency per request, ms (a fixed value or a [min, max] range). */
  latencyMs?: number | [number, number];
  /** Close every watch stream after this many events. */
  cutWatchAfterEvents?: number;
  /** Close every watch stream after this many ms. */
  cutWatchAfterMs?: number;
  /** Answer every watch that resumes from a resourceVersion with 410 Gone. */
  forceGone?: boolean;
}

export interface FaultCounters {
  errors: number;
  delayedRequests: number;
  cutWatches: number;
  gones: number;
}

/** Holds the current fault configuration and counts what it injected. */
export class FaultInjector {
  private config: FaultConfig = {};
  readonly counters: FaultCounters = { errors: 0, delayedRequests: 0, cutWatches: 0, gones: 0 };

  constructor(private readonly random: () => number = Math.random) {}

  /** Replace the fault configuration (`{}` turns faults off). */
  set(config: FaultConfig): void {
    this.config = { ...config };
  }

  /** Turn every fault off. */
  clear(): void {
    this.config = {};
  }

  /** The HTTP code to fail this request with, or undefined to let it through. */
  errorFor(verb: Verb, resource: string): number | undefined {
    for (const rule of this.config.errors ?? []) {
      if (rule.verb && rule.verb !== verb) continue;
      if (rule.resource && rule.resource !== resource) continue;
      if (this.random() < rule.rate) {
        this.counters.errors++;
        return rule.code ?? 500;
      }
    }
    return undefined;
  }

  /** Latency to add before answering, ms. */
  latency(): number {
    const latency = this.config.latencyMs;
    if (latency === undefined) return 0;
    const ms = Array.isArray(latency) ? latency[0] + this.random() * (latency[1] - latency[0]) : latency;
    if (ms > 0) this.counters.delayedRequests++;
    return ms;
  }

  /** Whether a watch resuming from a resourceVersion must get 410 Gone. */
  forceGone(): boolean {
    if (!this.config.forceGone) return false;
    this.counters.gones++;
    return true;
  }

  /** Limits on a watch stream's life, if any. */
  watchLimits(): { afterEvents?: number; afterMs?: number } {
    return { afterEvents: this.config.cutWatchAfterEvents, afterMs: this.config.cutWatchAfterMs };
  }

  /** Record that a watch stream was cut by a limit. */
  recordCut(): void {
    this.counters.cutWatches++;
  }
}
