/**
 * Child process: the receiver, configured as the CLI configures it but with rate limits off, a
 * silent logger, trusting one (local, http) issuer, talking to the API server over HTTP.
 *
 * Usage: `node receiver-process.js KUBECONFIG_FILE ISSUER_URL AUDIENCE ATTESTATION_KEY_FILE`
 */
import { readFileSync } from 'node:fs';
import { createClientNodeKubeClient } from '../src/kube/client-node-kube-client.js';
import { loadKubeConfig } from '../src/kube/load-kube-config.js';
import { createMetrics } from '../src/observability/metrics.js';
import { silentLogger } from '../src/observability/logger.js';
import { evaluatePolicies, parseImageReference } from '../src/policy/index.js';
import { loadReceiverConfig, receiverDepsFromConfig, startReceiver } from '../src/receiver/index.js';
import { samplePeakRss } from './peak-rss.js';
import { serveRequests } from './serve-requests.js';

async function main(): Promise<void> {
  const [kubeconfigFile, issuer, audience, keyFile] = process.argv.slice(2) as [
    string,
    string,
    string,
    string,
  ];
  const rss = samplePeakRss();
  const config = loadReceiverConfig(
    {},
    {
      listen: '127.0.0.1:0',
      'oidc-issuers': issuer,
      'oidc-audience': audience,
      'allow-insecure-issuer': 'true',
      'attestation-key-file': keyFile,
      // 0 turns the per-repository limit off: the bench sends thousands of dispatches from one repository.
      'rate-limit-per-minute': '0',
    },
  );
  const deps = await receiverDepsFromConfig(config, {
    kube: createClientNodeKubeClient(
      loadKubeConfig({ kubeconfigYaml: readFileSync(kubeconfigFile, 'utf8') }),
    ),
    logger: silentLogger(),
    metrics: createMetrics({ collectDefaults: true }),
    evaluatePolicies,
    parseImageReference,
  });
  const receiver = await startReceiver({ listen: config.listen, shutdownTimeoutSeconds: 1 }, deps);
  serveRequests(
    { url: receiver.url },
    {
      stats: () => ({ peakRss: rss.peak(), rsaVerifications: deps.verifier.rsaVerifications() }),
    },
    () => receiver.close(),
  );
}

await main();
