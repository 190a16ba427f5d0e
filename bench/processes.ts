/**
 * Child processes of the benchmark: the embedded API server, and the real `keyless-deploy` binary
 * (`run --receiver`, `run --controller`), so each is measured as it runs in production, in its own
 * process, with its own memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Root of the repository (dist-bench/bench/ is two levels down). */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The compiled CLI the benchmark runs. */
export const CLI = join(PROJECT_ROOT, 'dist-bench', 'src', 'cli', 'main.js');
/** The compiled API server child. */
export const API_SERVER = join(PROJECT_ROOT, 'dist-bench', 'bench', 'api-server-process.js');

export interface Child {
  process: ChildProcess;
  /** Lines the child printed as JSON, in order. */
  next(): Promise<Record<string, unknown>>;
  /** Peak resident set size (VmHWM) so far, in bytes (Linux). */
  peakRss(): number;
  stop(): Promise<void>;
}

/** Spawn `node` with arguments; stdout lines that parse as JSON are handed out by `next()`. */
export function startChild(args: string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const queue: Array<Record<string, unknown>> = [];
  const waiters: Array<(line: Record<string, unknown>) => void> = [];
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    const waiter = waiters.shift();
    if (waiter) waiter(parsed);
    else queue.push(parsed);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    next: () =>
      new Promise((resolve, reject) => {
        const line = queue.shift();
        if (line) return resolve(line);
        waiters.push(resolve);
        child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before printing`)));
      }),
    peakRss() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      } catch {
        return 0;
      }
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
