import { WorkQueue } from '../../src/controller/work-queue.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('WorkQueue', () => {
  test('a key added many times while waiting runs once', async () => {
    const runs: string[] = [];
    const queue = new WorkQueue(async (key) => void runs.push(key));
    for (let i = 0; i < 5; i++) queue.add('a');
    queue.add('b');
    expect(queue.depth).toBe(2);
    queue.start();
    await queue.idle();
    expect(runs.sort()).toEqual(['a', 'b']);
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
      { concurrency: 4 },
    );
    queue.start();
    queue.add('a');
    await new Promise((r) => setImmediate(r));
    queue.add('a');
    queue.add('a');
    gate.resolve();
    await queue.idle();
    await queue.idle();
    expect(maxConcurrent).toBe(1);
    expect(runs).toBe(2);
  });

  test('bounds concurrency across keys', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    const queue = new WorkQueue(
      async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await new Promise((r) => setTimeout(r, 5));
        concurrent--;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 20; i++) queue.add(`k${i}`);
    queue.start();
    await queue.idle();
    expect(maxConcurrent).toBe(3);
  });

  test('failures are retried with growing delays until success', async () => {
    const attempts: number[] = [];
    const outcomes: string[] = [];
    const queue = new WorkQueue(
      async () => {
        attempts.push(Date.now());
        if (attempts.length < 4) throw new Error('transient');
      },
      { baseBackoffMs: 10, maxBackoffMs: 1000, onProcessed: (_k, outcome) => outcomes.push(outcome) },
    );
    queue.start();
    queue.add('a');
    while (attempts.length < 4) await new Promise((r) => setTimeout(r, 5));
    await queue.idle();
    expect(outcomes).toEqual(['error', 'error', 'error', 'success']);
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number));
    // 10, 20, 40 ms nominal: each retry waits at least its backoff.
    expect(gaps[0]).toBeGreaterThanOrEqual(9);
    expect(gaps[1]).toBeGreaterThanOrEqual(19);
    expect(gaps[2]).toBeGreaterThanOrEqual(39);
  });

  test('requeueAfterMs runs the key again later', async () => {
    let runs = 0;
    const queue = new WorkQueue(async () => (++runs < 3 ? { requeueAfterMs: 5 } : undefined));
    queue.start();
    queue.add('a');
    while (runs < 3) await new Promise((r) => setTimeout(r, 5));
    expect(runs).toBe(3);
    await queue.shutdown();
  });

  test('shutdown waits for running handlers and drops waiting keys', async () => {
    const gate = deferred();
    const runs: string[] = [];
    const queue = new WorkQueue(
      async (key) => {
        runs.push(key);
        if (key === 'a') await gate.promise;
      },
      { concurrency: 1 },
    );
    queue.start();
    queue.add('a');
    queue.add('b');
    let finished = false;
    const done = queue.shutdown().then(() => (finished = true));
    await new Promise((r) => setImmediate(r));
    expect(finished).toBe(false);
    gate.resolve();
    await done;
    expect(runs).toEqual(['a']);
    queue.add('c');
    expect(queue.size).toBe(0);
  });
});
