/**
 * Child process: the controller, as the CLI runs it (concurrency 4, default poll and history
 * settings, single replica), against an API server URL over HTTP with client-node. Its own process,
 * so the RSS it reports is the controller's alone.
 *
 * Usage: `node controller-process.js API_SERVER_URL ATTESTATION_PUBLIC_KEY_FILE`
 */
import { loadAttestationPublicKeys } from '../src/attestation/attestation-keys.js';
import { kubeconfigYaml } from '../src/apiserver/embedded-api-server.js';
import { startController } from '../src/controller/controller-manager.js';
import { createClientNodeKubeClient } from '../src/kube/client-node-kube-client.js';
import { loadKubeConfig } from '../src/kube/load-kube-config.js';
import { createMetrics } from '../src/observability/metrics.js';
import { silentLogger } from '../src/observability/logger.js';
import { samplePeakRss } from './peak-rss.js';
import { serveRequests } from './serve-requests.js';

/** `stats` answer. */
export interface ControllerStats {
  peakRss: number;
  rss: number;
  heapUsed: number;
  /** `Date.now()` when the process began and when its caches had synced. */
  startedAt: number;
  syncedAt: number;
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  const rss = samplePeakRss();
  const [url, publicKeyFile] = process.argv.slice(2) as [string, string];
  const kube = createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: kubeconfigYaml(url) }));
  const controller = await startController({
    kube,
    attestationKeys: await loadAttestationPublicKeys(publicKeyFile),
    logger: silentLogger(),
    metrics: createMetrics({ collectDefaults: true }),
    concurrency: 4,
    history: { ttlMs: 604_800_000, limitPerWorkload: 20 },
  });
  await controller.synced;
  const syncedAt = Date.now();
  serveRequests(
    { pid: process.pid },
    {
      stats(): ControllerStats {
        const memory = process.memoryUsage();
        return { peakRss: rss.peak(), rss: memory.rss, heapUsed: memory.heapUsed, startedAt, syncedAt };
      },
    },
    () => controller.stop(),
  );
}

await main();
