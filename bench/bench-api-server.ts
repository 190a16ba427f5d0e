/**
 * The API server a bench scenario runs against: the embedded one in its own child process
 * (default), or a real control plane (`--cluster`: etcd, kube-apiserver, controller-manager,
 * scheduler and kwok from `npm run cluster-tools`, started by the project's starter in `dist/`),
 * fresh for each scenario either way. Both come with the `api-server-process` child that seeds
 * objects and counts DeployRequest phases.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { kubeconfigYaml } from '../src/apiserver/embedded-api-server.js';
import type {
  RealControlPlane,
  startRealControlPlane as StartRealControlPlane,
} from '../src/playground/control-plane/real-control-plane.js';
import { forkChild, type BenchChild } from './child-process.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
/** The repository root, from dist-bench/bench/. */
export const REPOSITORY_ROOT = resolve(HERE, '..', '..');

/** Which API server the bench runs against. */
export type ApiServerMode = 'embedded' | 'cluster';

/** A started API server with its seeding child. */
export interface BenchApiServer {
  mode: ApiServerMode;
  /** `embedded` or `kube-apiserver v1.36.3` (what the report prints). */
  describe: string;
  url: string;
  /** A kubeconfig (admin on a real server) that receivers, controllers and watches use. */
  kubeconfigPath: string;
  /** The seeding / phase-counting child. */
  child: BenchChild;
  /** The real control plane (cluster mode). */
  controlPlane?: RealControlPlane;
  /** Peak RSS of the API server since the last reset: the embedded child, or kube-apiserver + etcd. */
  peakRss(): Promise<number>;
  resetRss(): Promise<void>;
  /** Its processes: the embedded child, or kube-apiserver and etcd. */
  pids(): number[];
  /**
   * Requests the API server has served, by `VERB resource[/subresource]` (kube-apiserver's own
   * `apiserver_request_total`, read through `kubectl get --raw /metrics`); undefined on the embedded one.
   */
  apiCalls(): Promise<Record<string, number> | undefined>;
  stop(): Promise<void>;
}

/** Peak resident set of a process (VmHWM, bytes); 0 when it is gone. */
function processPeakRss(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Reset a process's VmHWM to its current RSS (Linux: write 5 to clear_refs). */
function resetProcessPeakRss(pid: number | undefined): void {
  if (!pid) return;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not permitted or gone: the peak then covers the process's whole life
  }
}

/** kube-apiserver's `apiserver_request_total` summed by verb and resource (keyless.dev, apps, core). */
async function apiServerRequestCounts(kubeconfigPath: string): Promise<Record<string, number>> {
  const { stdout } = await run(
    join(REPOSITORY_ROOT, '.tools', 'bin', 'kubectl'),
    ['get', '--raw', '/metrics'],
    {
      env: { ...process.env, KUBECONFIG: kubeconfigPath },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const counts: Record<string, number> = {};
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries(
      [...line.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1], match[2]]),
    );
    if (
      !['keyless.dev', 'apps', '', 'notification.toolkit.fluxcd.io', 'source.toolkit.fluxcd.io'].includes(
        labels.group ?? '-',
      )
    )
      continue;
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    counts[key] = (counts[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return counts;
}

/** What `after` counted beyond `before`, non-zero entries only. */
export function apiCallsBetween(
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
): Record<string, number> | undefined {
  if (!before || !after) return undefined;
  const diff: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    const delta = value - (before[key] ?? 0);
    if (delta > 0) diff[key] = delta;
  }
  return diff;
}

/** Start an API server for one scenario; `stateDir` holds a real control plane's files. */
export async function startBenchApiServer(mode: ApiServerMode, stateDir: string): Promise<BenchApiServer> {
  if (mode === 'embedded') {
    const child = await forkChild(join(HERE, 'api-server-process.js'));
    const url = child.ready.url as string;
    mkdirSync(stateDir, { recursive: true });
    const kubeconfigPath = join(stateDir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(url), { mode: 0o600 });
    return {
      mode,
      describe: 'embedded',
      url,
      kubeconfigPath,
      child,
      peakRss: async () => (await child.request<{ peakRss: number }>('phases')).peakRss,
      resetRss: async () => void (await child.request('resetRss')),
      pids: () => [child.pid],
      apiCalls: async () => undefined,
      stop: () => child.stop(),
    };
  }
  // The starter from dist/ (built by the bench), as the cluster tests use it: it finds the binaries
  // through scripts/cluster-tools.mjs relative to dist/.
  const starter = pathToFileURL(
    join(REPOSITORY_ROOT, 'dist', 'playground', 'control-plane', 'real-control-plane.js'),
  ).href;
  const { startRealControlPlane } = (await import(starter)) as {
    startRealControlPlane: typeof StartRealControlPlane;
  };
  const controlPlane = await startRealControlPlane({ stateDir });
  try {
    const child = await forkChild(join(HERE, 'api-server-process.js'), [controlPlane.adminKubeconfigPath]);
    const pids = (): number[] => [controlPlane.pids()['kube-apiserver'] ?? 0, controlPlane.pids().etcd ?? 0];
    return {
      mode,
      describe: `kube-apiserver ${controlPlane.version}`,
      url: controlPlane.url,
      kubeconfigPath: controlPlane.adminKubeconfigPath,
      child,
      controlPlane,
      peakRss: async () => pids().reduce((sum, pid) => sum + processPeakRss(pid), 0),
      resetRss: async () => pids().forEach(resetProcessPeakRss),
      pids,
      apiCalls: () => apiServerRequestCounts(controlPlane.adminKubeconfigPath),
      async stop() {
        await child.stop();
        await controlPlane.stop();
      },
    };
  } catch (error) {
    await controlPlane.stop();
    throw error;
  }
}
