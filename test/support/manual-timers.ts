/**
 * A manual clock with timers, for code that takes injected timers (the work queue): time moves only
 * when the test calls `advance`, so delays are asserted exactly and nothing waits for real time.
 */
import type { QueueTimers } from '../../src/runtime/work-queue.js';

/** Lets pending promise callbacks (and I/O callbacks queued before) run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ManualTimers implements QueueTimers {
  private nowMs = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();
  /** Every delay asked for, in order. */
  readonly requested: number[] = [];

  now(): number {
    return this.nowMs;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.requested.push(ms);
    this.pending.set(id, { at: this.nowMs + ms, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Timers not yet fired. */
  get scheduled(): number {
    return this.pending.size;
  }

  /** Move time forward by `ms`, firing due timers in order (letting promise work settle after each). */
  async advance(ms: number): Promise<void> {
    const target = this.nowMs + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, timer]) => timer.at <= target)
        .sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      const [id, timer] = due;
      this.pending.delete(id);
      this.nowMs = timer.at;
      timer.callback();
      await settle();
    }
    this.nowMs = target;
    await settle();
  }
}
