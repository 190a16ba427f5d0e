/**
 * Controller scale: write manual DeployRequests straight into the API server child's store, then
 * start the controller child and time until every request is in a final phase. Requests to one
 * workload are serialised and older ones superseded, so outcomes are counted by phase.
 */
import { loadavg } from 'node:os';
import type { PhaseCounts } from './api-server-process.js';
import type { ApiServerMode } from './bench-api-server.js';
import { apiCallsBetween } from './bench-api-server.js';
import { startBenchCluster } from './bench-cluster.js';
import type { ControllerStats } from './controller-process.js';

/** One scale scenario. */
export interface ScaleScenario {
  requests: number;
  workloads: number;
  /** Namespaces the workloads are spread over (each gets the bench DeployPolicy). */
  namespaces: number;
  /** Give up after this long (or longer for a later scenario: `scaleTimeoutMs`). */
  timeoutMs: number;
}

/** The scale target: a run of N times the requests drains within N x this of the first run's time. */
export const SCALE_SLACK = 1.1;

/**
 * The time a larger scenario may take before it is cut: its own `timeoutMs`, or more when the
 * linear bound from `base` (the first scenario, drained) is longer, with a quarter on top, so a
 * drain that meets the target, or misses it narrowly, is measured instead of cut off.
 */
export function scaleTimeoutMs(scenario: ScaleScenario, base: ScaleResult | undefined): number {
  if (base?.drainSeconds === undefined || base.requests === scenario.requests) return scenario.timeoutMs;
  const linearBoundMs = base.drainSeconds * 1000 * (scenario.requests / base.requests) * SCALE_SLACK;
  return Math.max(scenario.timeoutMs, Math.ceil(linearBoundMs * 1.25));
}

/** What one scenario measured. */
export interface ScaleResult extends ScaleScenario {
  /** Seconds from forking the controller until the last request was final; undefined: timed out. */
  drainSeconds?: number;
  /** Seconds from forking the controller until its caches had synced. */
  syncSeconds: number;
  /** Final requests per second over the drain. */
  perSecond: number;
  controllerPeakRss: number;
  /** The controller's peak V8 heap size (`heapTotal`) in the same run, bytes. */
  controllerPeakHeap: number;
  /** The controller's heap in use after a full garbage collection at the end of the drain, bytes. */
  controllerLiveHeap?: number;
  apiServerPeakRss: number;
  byPhase: Record<string, number>;
  /** Reconciles the controller ran (all outcomes) and workload patches it made. */
  reconciles: number;
  patches: number;
  /** Median ms the API server takes (in-process) to list one namespace's DeployRequests, before the run. */
  namespaceListMs: number;
  /** Load average (1 min) of the machine when the scenario ended: other work competing for the CPUs. */
  loadAverage: number;
  /** API calls kube-apiserver served during the drain, by verb and resource (real control plane). */
  apiCalls?: Record<string, number>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run one scale scenario in fresh processes (a fresh API server too). On a real control plane the
 * Deployments have 0 replicas (see end-to-end-bench.ts).
 */
export async function runControllerScale(
  scenario: ScaleScenario,
  mode: ApiServerMode = 'embedded',
): Promise<ScaleResult> {
  const cluster = await startBenchCluster(mode);
  try {
    const perNamespace = Math.ceil(scenario.workloads / scenario.namespaces);
    const perWorkload = Math.ceil(scenario.requests / scenario.workloads);
    const namespaces = Array.from({ length: scenario.namespaces }, (_, n) => ({
      name: `scale-${n}`,
      workloads: Array.from({ length: perNamespace }, (_, w) => `web-${w}`),
    }));
    await cluster.seed({ namespaces, ...(mode === 'cluster' ? { replicas: 0 } : {}) });
    const requests: Array<{ namespace: string; name: string; workload: string; image: string }> = [];
    for (let k = 0; k < perWorkload; k++)
      for (const namespace of namespaces)
        for (const workload of namespace.workloads)
          if (requests.length < scenario.requests)
            requests.push({
              namespace: namespace.name,
              // Zero-padded: same-second requests are ordered by name, so name order is creation order.
              name: `${workload}-r${String(k).padStart(4, '0')}`,
              workload,
              image: `ghcr.io/acme/web:3.0.${k}`,
            });
    for (let i = 0; i < requests.length; i += 1000)
      await cluster.apiServer.request('createRequests', { requests: requests.slice(i, i + 1000) });
    const namespaceListMs = await cluster.apiServer.request<number>('timeNamespaceList', namespaces[0]!.name);
    await cluster.api.resetRss();

    const callsBefore = await cluster.api.apiCalls();
    const forkedAt = Date.now();
    const controller = await cluster.startController();
    let counts = await cluster.apiServer.request<PhaseCounts>('phases');
    while (counts.allTerminalAt === undefined && Date.now() - forkedAt < scenario.timeoutMs) {
      await sleep(250);
      counts = await cluster.apiServer.request<PhaseCounts>('phases');
    }
    const stats = await controller.request<ControllerStats>('stats');
    const apiCalls = apiCallsBetween(callsBefore, await cluster.api.apiCalls());
    const drainSeconds =
      counts.allTerminalAt !== undefined ? (counts.allTerminalAt - forkedAt) / 1000 : undefined;
    return {
      ...scenario,
      ...(drainSeconds !== undefined ? { drainSeconds } : {}),
      syncSeconds: (stats.syncedAt - forkedAt) / 1000,
      perSecond: counts.terminal / (drainSeconds ?? (Date.now() - forkedAt) / 1000),
      controllerPeakRss: stats.peakRss,
      controllerPeakHeap: stats.peakHeap,
      controllerLiveHeap: stats.liveHeap,
      apiServerPeakRss: await cluster.api.peakRss(),
      byPhase: counts.byPhase,
      reconciles: Object.values(stats.reconciles).reduce((a, b) => a + b, 0),
      patches: stats.patches,
      namespaceListMs,
      loadAverage: loadavg()[0] ?? 0,
      ...(apiCalls ? { apiCalls } : {}),
    };
  } finally {
    await cluster.close();
  }
}
