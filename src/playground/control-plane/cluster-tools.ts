/**
 * Where the control plane's binaries are: `npm run cluster-tools` (scripts/cluster-tools.mjs)
 * builds them from the wrapper Go modules in test/cluster/go and answers, with `--check`, whether
 * the ones in `.tools/cluster/<version>/` are current. That script is the one place that knows
 * versions and paths; this module only asks it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, from src/playground/control-plane or dist/playground/control-plane. */
export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** What `manifest.json` of a build records. */
export interface ClusterToolsManifest {
  kubernetes: string;
  etcd: string;
  kwok: string;
  go: string;
}

export interface ClusterTools {
  dir: string;
  manifest: ClusterToolsManifest;
  binary(name: 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok'): string;
}

/** The built binaries; throws a message naming the command that builds them when they are missing or stale. */
export function findClusterTools(root = REPOSITORY_ROOT): ClusterTools {
  const script = join(root, 'scripts', 'cluster-tools.mjs');
  if (!existsSync(script))
    throw new Error(
      `the real control plane needs a checkout of keyless-deploy (${script} not found); it is not part of the image`,
    );
  let output: string;
  try {
    output = execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
  } catch {
    throw new Error(
      'the real control plane is not built (or its versions changed): run `npm run cluster-tools` ' +
        '(needs Go >= 1.26; the first build takes several minutes)',
    );
  }
  const dir = output.trim().split('\n').pop() ?? '';
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ClusterToolsManifest;
  return { dir, manifest, binary: (name) => join(dir, name) };
}
