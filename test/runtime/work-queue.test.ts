/** The work queue's guarantees, on manual timers: delays are asserted exactly, nothing sleeps. */
import { WorkQueue } from '../../src/runtime/work-queue.js';
import { ManualTimers, settle } from '../support/manual-timers.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  test('a key added many times while waiting runs once', async () => {
    const runs: string[] = [];
    const queue = new WorkQueue(async (key) => void runs.push(key), { timers: new ManualTimers() });
    for (let i = 0; i < 5; i++) queue.add('a');
    queue.add('b');
    expect(queue.depth).toBe(2);
    queue.start();
    await queue.idle();
    expect(runs.sort()).toEqual(['a', 'b']);
    expect(queue.isIdle).toBe(true);
  });

  test('never runs two handlers for one key at once; a key added while running runs again after', async () => {
    const gate = deferred();
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const queue = new WorkQueue(
      async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        runs++;
        if (runs === 1) await gate.promise;
        concurrent--;
      },
      { concurrency: 4, timers: new ManualTimers() },
    );
    queue.start();
    queue.add('a');
    await settle();
    queue.add('a');
    queue.add('a');
    expect(queue.isIdle).toBe(false);
    gate.resolve();
    await queue.idle();
    await queue.idle();
    expect(maxConcurrent).toBe(1);
    expect(runs).toBe(2);
  });

  test('bounds concurrency across keys', async () => {
    const gates = new Map<string, () => void>();
    let concurrent = 0;
    let maxConcurrent = 0;
    const queue = new WorkQueue(
      async (key) => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await new Promise<void>((resolve) => gates.set(key, resolve));
        concurrent--;
      },
      { concurrency: 3, timers: new ManualTimers() },
    );
    for (let i = 0; i < 20; i++) queue.add(`k${i}`);
    queue.start();
    // Release the running handlers one at a time; the queue never runs more than three.
    for (let released = 0; released < 20; released++) {
      await settle();
      expect(concurrent).toBeLessThanOrEqual(3);
      const [key, release] = [...gates.entries()][0] as [string, () => void];
      gates.delete(key);
      release();
    }
    await queue.idle();
    expect(maxConcurrent).toBe(3);
  });

  test('failures are retried after exponentially growing delays, then the count resets', async () => {
    const timers = new ManualTimers();
    const attempts: number[] = [];
    const outcomes: string[] = [];
    const queue = new WorkQueue(
      async () => {
        attempts.push(timers.now());
        if (attempts.length < 4) throw new Error('transient');
      },
      { baseBackoffMs: 10, maxBackoffMs: 25, timers, onProcessed: (_k, outcome) => outcomes.push(outcome) },
    );
    queue.start();
    queue.add('a');
    await queue.idle();
    expect(outcomes).toEqual(['error']);
    // Nothing runs before its delay is over.
    await timers.advance(9);
    expect(attempts).toHaveLength(1);
    await timers.advance(1);
    expect(attempts).toHaveLength(2);
    await timers.advance(20);
    await timers.advance(25);
    await queue.idle();
    expect(outcomes).toEqual(['error', 'error', 'error', 'success']);
    // 10, 20, then 40 capped at maxBackoffMs.
    expect(timers.requested).toEqual([10, 20, 25]);
    expect(attempts).toEqual([0, 10, 30, 55]);
  });

  test('requeueAfterMs runs the key again after that delay; an add in between runs it at once', async () => {
    const timers = new ManualTimers();
    let runs = 0;
    const queue = new WorkQueue(async () => (++runs < 3 ? { requeueAfterMs: 50 } : undefined), { timers });
    queue.start();
    queue.add('a');
    await queue.idle();
    expect(runs).toBe(1);
    await timers.advance(49);
    expect(runs).toBe(1);
    await timers.advance(1);
    await queue.idle();
    expect(runs).toBe(2);
    // An event for the key does not wait for the delay (and cancels it).
    queue.add('a');
    await queue.idle();
    expect(runs).toBe(3);
    expect(timers.scheduled).toBe(0);
    await queue.shutdown();
  });

  test('shutdown waits for running handlers and drops waiting and delayed keys', async () => {
    const timers = new ManualTimers();
    const gate = deferred();
    const runs: string[] = [];
    const queue = new WorkQueue(
      async (key) => {
        runs.push(key);
        if (key === 'a') await gate.promise;
      },
      { concurrency: 1, timers },
    );
    queue.start();
    queue.add('a');
    queue.add('b');
    queue.addAfter('c', 100);
    let finished = false;
    const done = queue.shutdown().then(() => (finished = true));
    await settle();
    expect(finished).toBe(false);
    gate.resolve();
    await done;
    expect(runs).toEqual(['a']);
    expect(timers.scheduled).toBe(0);
    queue.add('c');
    expect(queue.size).toBe(0);
  });
});
