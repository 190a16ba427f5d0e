/**
 * Runs the `keyless-deploy` binary in a child process, as a user would: `src/cli/bin.ts` (what
 * `dist/cli/bin.js`, package.json's `bin`, is compiled from: the Node version check, then main)
 * under Node with `ts-hooks.mjs`, with only the environment given (no inherited KUBECONFIG or
 * HOME), and no standard input.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './kubectl.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[]): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--import',
      join(PROJECT_ROOT, 'test', 'support', 'ts-hooks.mjs'),
      ...nodeArgs,
      join(PROJECT_ROOT, 'src', 'cli', 'bin.ts'),
      ...args,
    ],
    {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'keyless-cli-home-')), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
}

/**
 * Run `keyless-deploy ARGS` with `env` (HOME defaults to an empty temp dir); `nodeArgs` go to Node
 * before the entry point (e.g. another `--import`).
 */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 30_000,
  nodeArgs: string[] = [],
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = start(args, env, nodeArgs);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface RunningCli {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or -1 when killed by a signal). */
  exited: Promise<number>;
  /** Send a signal (default SIGTERM) and wait for the exit. */
  stop: (signal?: NodeJS.Signals) => Promise<number>;
}

/** Start `keyless-deploy ARGS` in the background (the playground, a waiting dispatch). */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): RunningCli {
  const child = start(args, env, []);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return {
    pid: child.pid as number,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
