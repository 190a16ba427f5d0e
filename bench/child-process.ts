/**
 * Parent side of the bench's child processes: fork a compiled entry with this Node binary, read the
 * line it prints when ready (`READY <json>`), and call its IPC request handlers.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A running child process of the bench. */
export interface BenchChild {
  /** What the child printed after `READY ` (parsed JSON). */
  readonly ready: Record<string, unknown>;
  readonly pid: number;
  /** Call a handler the child registered with `serveRequests`. */
  request<T = unknown>(op: string, payload?: unknown): Promise<T>;
  /** Ask the child to exit; kills it when it does not within 5 s. */
  stop(): Promise<void>;
}

interface Reply {
  id: number;
  result?: unknown;
  error?: string;
}

/**
 * Fork `script` (a .js file) with `args` and Node flags `nodeArgs`; resolves once it printed its
 * READY line.
 */
export async function forkChild(
  script: string,
  args: string[] = [],
  nodeArgs: string[] = [],
): Promise<BenchChild> {
  const child: ChildProcess = fork(script, args, {
    execPath: process.execPath,
    // BENCH_CPU_PROFILE_DIR=DIR writes a V8 CPU profile of every child there (to see where time goes).
    execArgv: [
      ...nodeArgs,
      ...(process.env.BENCH_CPU_PROFILE_DIR
        ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`]
        : []),
    ],
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.on('message', (message: Reply) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error !== undefined) waiter.reject(new Error(message.error));
    else waiter.resolve(message.result);
  });
  child.once('exit', (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${script} exited (${code})`));
    pending.clear();
  });

  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('READY ')) resolve(JSON.parse(line.slice(6)) as Record<string, unknown>);
      else process.stderr.write(`[${script.split('/').pop()}] ${line}\n`);
    });
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready`)));
  });

  return {
    ready,
    pid: child.pid ?? 0,
    request<T>(op: string, payload?: unknown): Promise<T> {
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        child.send({ id, op, payload });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ id: 0, op: 'exit' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
