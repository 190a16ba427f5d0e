/**
 * Child process: the controller, as the CLI runs it (concurrency 16, default poll and history
 * settings, single replica), against the API server of a kubeconfig file over HTTP(S) with client-node. Its own process,
 * so the RSS it reports is the controller's alone.
 *
 * Usage: `node controller-process.js KUBECONFIG_FILE ATTESTATION_PUBLIC_KEY_FILE`; `BENCH_CONTROLLER_LOG=FILE`
 * appends the controller's debug log to FILE.
 */
import { writeHeapSnapshot } from 'node:v8';
import { loadAttestationPublicKeys } from '../src/attestation/attestation-keys.js';
import { readFileSync } from 'node:fs';
import { startController } from '../src/controller/controller-manager.js';
import { createClientNodeKubeClient } from '../src/kube/client-node-kube-client.js';
import { loadKubeConfig } from '../src/kube/load-kube-config.js';
import { createMetrics, type Metrics } from '../src/observability/metrics.js';
import { createLogger, silentLogger } from '../src/observability/logger.js';
import { createWriteStream } from 'node:fs';
import { samplePeakRss } from './peak-rss.js';
import { serveRequests } from './serve-requests.js';

/** `stats` answer. */
export interface ControllerStats {
  peakRss: number;
  /** Peak V8 heap size (`heapTotal`), bytes. */
  peakHeap: number;
  /** Heap in use after a full garbage collection once the peaks were read (needs `--expose-gc`). */
  liveHeap?: number;
  rss: number;
  heapUsed: number;
  /** `Date.now()` when the process began and when its caches had synced. */
  startedAt: number;
  syncedAt: number;
  /** Reconciles run, by outcome (from the controller's own metrics). */
  reconciles: Record<string, number>;
  /** Workload patches made. */
  patches: number;
}

async function metricTotals(metrics: Metrics, name: string, label: string): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  const metric = metrics.registry.getSingleMetric(name);
  for (const value of (await metric?.get())?.values ?? [])
    totals[String(value.labels[label] ?? '')] =
      (totals[String(value.labels[label] ?? '')] ?? 0) + value.value;
  return totals;
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const rss = samplePeakRss();
  const [kubeconfigFile, publicKeyFile] = process.argv.slice(2) as [string, string];
  const metrics = createMetrics({ collectDefaults: true });
  const config = loadKubeConfig({ kubeconfigYaml: readFileSync(kubeconfigFile, 'utf8') });
  const kube = createClientNodeKubeClient(config);
  const controller = await startController({
    kube,
    attestationKeys: await loadAttestationPublicKeys(publicKeyFile),
    // BENCH_CONTROLLER_LOG=FILE: the controller's debug log, to see what a slow request waited for.
    logger: process.env.BENCH_CONTROLLER_LOG
      ? createLogger({
          level: 'debug',
          destination: createWriteStream(process.env.BENCH_CONTROLLER_LOG, { flags: 'a' }),
        })
      : silentLogger(),
    metrics,
    // As the CLI's default; BENCH_CONTROLLER_CONCURRENCY=N compares other settings.
    concurrency: Number(process.env.BENCH_CONTROLLER_CONCURRENCY ?? 16),
    history: { ttlMs: 604_800_000, limitPerWorkload: 20 },
  });
  await controller.synced;
  const syncedAt = Date.now();
  serveRequests(
    { pid: process.pid },
    {
      /** Diagnostics: write a heap snapshot, answer its path. */
      heapSnapshot: (payload) => writeHeapSnapshot(payload as string),
      async stats(): Promise<ControllerStats> {
        const memory = process.memoryUsage();
        const patches = await metricTotals(metrics, 'keyless_controller_workload_patches_total', 'kind');
        const peakRss = rss.peak();
        const peakHeap = rss.peakHeap();
        globalThis.gc?.();
        return {
          peakRss,
          peakHeap,
          liveHeap: globalThis.gc ? process.memoryUsage().heapUsed : undefined,
          rss: memory.rss,
          heapUsed: memory.heapUsed,
          startedAt,
          syncedAt,
          reconciles: await metricTotals(metrics, 'keyless_controller_reconciles_total', 'outcome'),
          patches: Object.values(patches).reduce((a, b) => a + b, 0),
        };
      },
    },
    () => controller.stop(),
  );
}

await main();
