/**
 * A keyed work queue with the guarantees a level-triggered controller needs (after client-go's
 * workqueue): a key waits at most once (de-duplication), at most one handler runs per key (a key
 * added while its handler runs is run again afterwards), failures back off exponentially per key,
 * and at most `concurrency` handlers run at once.
 */
import type { Logger } from '../observability/logger.js';

/** What a handler asks for: nothing (done), or to be run again after a delay. */
export type WorkResult = void | { requeueAfterMs: number };

/** The clock and timers a queue schedules delayed keys with (tests inject a manual clock). */
export interface QueueTimers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real time; timers are unref'd so a queue never keeps the process alive. */
export const REAL_TIMERS: QueueTimers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface WorkQueueOptions {
  /** Handlers running at once. Default 4. */
  concurrency?: number;
  /** First retry delay after a failure; doubles per consecutive failure of the key. Default 200 ms. */
  baseBackoffMs?: number;
  /** Upper bound of the retry delay. Default 60 s. */
  maxBackoffMs?: number;
  logger?: Logger;
  /** Called after every handler run, for metrics. */
  onProcessed?: (key: string, outcome: 'success' | 'requeue' | 'error', durationMs: number) => void;
  /** Clock and timers of delayed keys. Default: real time. */
  timers?: QueueTimers;
}

/** The keyed, de-duplicating, rate-limited work queue. */
export class WorkQueue {
  private readonly pending: string[] = [];
  private readonly pendingSet = new Set<string>();
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { at: number; timer: unknown }>();
  private readonly idleWaiters: Array<() => void> = [];
  private readonly concurrency: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly timers: QueueTimers;
  private started = false;
  private shuttingDown = false;

  constructor(
    private readonly handler: (key: string) => Promise<WorkResult>,
    private readonly options: WorkQueueOptions = {},
  ) {
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.baseBackoffMs = options.baseBackoffMs ?? 200;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
    this.timers = options.timers ?? REAL_TIMERS;
  }

  /** Keys waiting to run (not counting delayed or running ones). */
  get depth(): number {
    return this.pending.length;
  }

  /** Keys waiting, delayed or running. */
  get size(): number {
    return new Set([...this.pendingSet, ...this.running, ...this.delayed.keys()]).size;
  }

  /** True when nothing is waiting or running (delayed keys do not count). */
  get isIdle(): boolean {
    return this.pending.length === 0 && this.running.size === 0;
  }

  /** Start running handlers. Keys added before start wait until then. */
  start(): void {
    this.started = true;
    this.pump();
  }

  /** Queue a key now. A key already waiting is not queued twice; a running key runs once more after. */
  add(key: string): void {
    if (this.shuttingDown) return;
    const delayed = this.delayed.get(key);
    if (delayed) {
      this.timers.clearTimeout(delayed.timer);
      this.delayed.delete(key);
    }
    if (this.running.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.pendingSet.has(key)) return;
    this.pendingSet.add(key);
    this.pending.push(key);
    this.pump();
  }

  /** Queue a key after a delay; an earlier pending delay for the key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const at = this.timers.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.timers.clearTimeout(existing.timer);
    const timer = this.timers.setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { at, timer });
  }

  /** Forget the failure count of a key (its next failure starts from the base delay). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Resolves when nothing is waiting or running (delayed keys do not count). */
  async idle(): Promise<void> {
    if (this.isIdle) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stop: no new keys are taken, delayed keys are dropped, and the promise resolves once every
   * running handler has finished (drain). Waiting keys are dropped: the controller relists on start.
   */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) this.timers.clearTimeout(timer);
    this.delayed.clear();
    this.pending.length = 0;
    this.pendingSet.clear();
    this.dirty.clear();
    while (this.running.size > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    if (!this.started || this.shuttingDown) return;
    while (this.running.size < this.concurrency && this.pending.length > 0) {
      const key = this.pending.shift() as string;
      this.pendingSet.delete(key);
      this.running.add(key);
      void this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    const startedAt = performance.now();
    let outcome: 'success' | 'requeue' | 'error' = 'success';
    try {
      const result = await this.handler(key);
      this.failures.delete(key);
      if (result && result.requeueAfterMs >= 0) {
        outcome = 'requeue';
        this.running.delete(key);
        this.addAfter(key, result.requeueAfterMs);
      }
    } catch (error) {
      outcome = 'error';
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const delay = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** Math.min(failures - 1, 30));
      this.options.logger?.warn(
        { key, err: error, retryInMs: delay, failures },
        'reconcile failed; retrying',
      );
      this.running.delete(key);
      this.addAfter(key, delay);
    } finally {
      this.running.delete(key);
      this.options.onProcessed?.(key, outcome, performance.now() - startedAt);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
      if (this.running.size === 0 && (this.pending.length === 0 || this.shuttingDown)) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    }
  }
}
