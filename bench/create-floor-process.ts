/**
 * Child process: the API server's write floor of an accepted dispatch. A bare loop creating
 * DeployRequests with `concurrency` writes in flight, through the same client stack the receiver
 * uses (`@kubernetes/client-node` via the adapter), from its own process like the receiver.
 *
 * Usage: `node create-floor-process.js KUBECONFIG_FILE`; IPC `run {namespace, workloads, count, concurrency}`.
 */
import { readFileSync } from 'node:fs';
import { createClientNodeKubeClient } from '../src/kube/client-node-kube-client.js';
import { loadKubeConfig } from '../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../src/kube/resource-types.js';
import { fixtures } from './fixtures.js';
import { serveRequests } from './serve-requests.js';

/** `run` payload. */
export interface CreateFloorRun {
  namespace: string;
  workloads: string[];
  count: number;
  concurrency: number;
}

const kube = createClientNodeKubeClient(
  loadKubeConfig({ kubeconfigYaml: readFileSync(process.argv[2]!, 'utf8') }),
);
let runs = 0;
serveRequests(
  {},
  {
    async run(payload) {
      const { namespace, workloads, count, concurrency } = payload as CreateFloorRun;
      const run = runs++;
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < count) {
            const i = next++;
            await kube.create(
              RESOURCE_TYPES.deployRequests,
              fixtures.manualRequest(
                namespace,
                `floor-${run}-${i}`,
                workloads[i % workloads.length]!,
                `ghcr.io/acme/web:9.${run}.${i}`,
              ),
            );
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      return { requests: count, seconds, perSecond: count / seconds };
    },
  },
);
