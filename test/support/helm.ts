/** Runs the real helm binary (from .tools/bin, installed by `npm run kube-tools`). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './kubectl.js';

export const HELM = join(PROJECT_ROOT, '.tools', 'bin', 'helm');
export const CHART = join(PROJECT_ROOT, 'charts', 'keyless-deploy');

/** Run helm with args; never touches the user's helm configuration. */
export function helm(args: string[], timeoutMs = 30_000): { code: number; stdout: string; stderr: string } {
  const home = mkdtempSync(join(tmpdir(), 'keyless-helm-'));
  const result = spawnSync(HELM, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
    },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
