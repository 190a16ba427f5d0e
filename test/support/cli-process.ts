/**
 * Runs the `keyless-deploy` binary in a child process, as a user would: `src/cli/main.ts` under
 * Node with `ts-hooks.mjs` (the same entry point `dist/cli/main.js` is compiled from), with only
 * the environment given (no inherited KUBECONFIG or HOME), and no standard input.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './kubectl.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `keyless-deploy ARGS` with `env` (HOME defaults to an empty temp dir). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        join(PROJECT_ROOT, 'test', 'support', 'ts-hooks.mjs'),
        join(PROJECT_ROOT, 'src', 'cli', 'main.ts'),
        ...args,
      ],
      {
        cwd: PROJECT_ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: mkdtempSync(join(tmpdir(), 'keyless-cli-home-')), ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}
