/**
 * Child process: the API server's write floor of an accepted dispatch. A bare loop creating
 * DeployRequests with `concurrency` writes in flight, through the same client stack the receiver
 * uses (`@kubernetes/client-node` via the adapter), from its own process like the receiver.
 *
 * With `like: 'receiver'` each create writes the object the receiver writes: a copy of one the
 * receiver created in the namespace (its labels, spec, source identity and attestation, the same
 * field manager), under a new name and image. The API server's cost of a create grows with what is
 * in it, so this is the write an accepted dispatch has to make. `like: 'minimal'` writes a
 * DeployRequest with only a target and an image (the floor of runs 1 to 14).
 *
 * Usage: `node create-floor-process.js KUBECONFIG_FILE`; IPC `run {namespace, workloads, count, concurrency, like}`.
 */
import { readFileSync } from 'node:fs';
import type { DeployRequest } from '../src/api/types.js';
import { LABELS } from '../src/api/types.js';
import { createClientNodeKubeClient } from '../src/kube/client-node-kube-client.js';
import type { KubeObject } from '../src/kube/kube-client.js';
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
  /** Copy a DeployRequest the receiver created in `namespace`, or write a minimal one. */
  like: 'receiver' | 'minimal';
}

type Request = DeployRequest & KubeObject;

const kube = createClientNodeKubeClient(
  loadKubeConfig({ kubeconfigYaml: readFileSync(process.argv[2]!, 'utf8') }),
);

/** One DeployRequest the receiver wrote in `namespace`, without what the API server set. */
async function receiverTemplate(namespace: string): Promise<Request> {
  const { items } = await kube.list<Request>(RESOURCE_TYPES.deployRequests, namespace, {
    labelSelector: LABELS.tokenHash,
  });
  const written = items[0];
  if (!written) throw new Error(`no DeployRequest from the receiver in ${namespace} to copy`);
  return {
    apiVersion: written.apiVersion,
    kind: written.kind,
    metadata: {
      namespace,
      ...(written.metadata.labels ? { labels: written.metadata.labels } : {}),
      ...(written.metadata.annotations ? { annotations: written.metadata.annotations } : {}),
    },
    spec: written.spec,
  };
}

let runs = 0;
serveRequests(
  {},
  {
    async run(payload) {
      const { namespace, workloads, count, concurrency, like } = payload as CreateFloorRun;
      const template = like === 'receiver' ? await receiverTemplate(namespace) : undefined;
      const run = runs++;
      const make = (i: number): Request => {
        const name = `floor-${run}-${i}`;
        const workload = workloads[i % workloads.length]!;
        const image = `ghcr.io/acme/web:9.${run}.${i}`;
        if (!template) return fixtures.manualRequest(namespace, name, workload, image);
        return {
          ...template,
          metadata: { ...template.metadata, name },
          spec: { ...template.spec, images: [{ ...template.spec.images[0]!, image }] },
        };
      };
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < count) {
            const i = next++;
            await kube.create(
              RESOURCE_TYPES.deployRequests,
              make(i),
              template ? { fieldManager: 'keyless-deploy-receiver' } : {},
            );
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      return { requests: count, seconds, perSecond: count / seconds };
    },
  },
);
