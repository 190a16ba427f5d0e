/**
 * Child process: the bench's API server side. Without arguments it runs an embedded API server with
 * the CRDs installed and instant simulated rollouts; with `KUBECONFIG_FILE` it talks to that (real)
 * API server over HTTPS instead, installs the CRDs there and does the same work as a client.
 * Prints `READY {"url": ...}`. The parent seeds it over IPC (`seed`: namespaces with Deployments and
 * a DeployPolicy; `createRequests`: manual DeployRequests, written in-process straight into the
 * embedded store, or created over HTTPS, 16 at a time, on a real server) and reads DeployRequest
 * phases counted by a watch (`phases`).
 *
 * Usage: `node api-server-process.js [KUBECONFIG_FILE]`
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TERMINAL_PHASES, type DeployPhase, type DeployRequest } from '../src/api/types.js';
import { startEmbeddedApiServer } from '../src/apiserver/embedded-api-server.js';
import { createClientNodeKubeClient } from '../src/kube/client-node-kube-client.js';
import type { KubeClient, KubeObject } from '../src/kube/kube-client.js';
import { loadKubeConfig } from '../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../src/kube/resource-types.js';
import { installCrds } from '../src/playground/playground.js';
import { fixtures } from './fixtures.js';
import { samplePeakRss } from './peak-rss.js';
import { serveRequests } from './serve-requests.js';

/** `seed` payload: namespaces, each with these Deployments and the bench DeployPolicy. */
export interface SeedRequest {
  namespaces: Array<{ name: string; workloads: string[] }>;
  /** Replicas of each Deployment (default 2). */
  replicas?: number;
}

/** `createRequests` payload: manual DeployRequests to write. */
export interface CreateRequests {
  requests: Array<{ namespace: string; name: string; workload: string; image: string }>;
}

/** `phases` answer. */
export interface PhaseCounts {
  total: number;
  terminal: number;
  byPhase: Record<string, number>;
  /** `Date.now()` when `terminal` first reached `total` (with total > 0). */
  allTerminalAt?: number;
  peakRss: number;
}

type Request = DeployRequest & KubeObject;

const CRDS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'crds');

/** Run `fn` over `items`, `concurrency` at a time. */
async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

async function main(): Promise<void> {
  const kubeconfigFile = process.argv[2];
  const server = kubeconfigFile
    ? undefined
    : await startEmbeddedApiServer({ workloads: { stepMs: 0 }, watchWindow: 200_000 });
  const kube: KubeClient = server
    ? server.kubeClient()
    : createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: readFileSync(kubeconfigFile!, 'utf8') }));
  const url =
    server?.url ??
    loadKubeConfig({ kubeconfigYaml: readFileSync(kubeconfigFile!, 'utf8') }).getCurrentCluster()?.server;
  await installCrds(kube, CRDS_DIR);
  // An embedded store takes writes in-process one by one; a real server is a network away.
  const writers = server ? 1 : 16;
  const rss = samplePeakRss();

  const phases = new Map<string, DeployPhase>();
  let allTerminalAt: number | undefined;
  const list = await kube.list<Request>(RESOURCE_TYPES.deployRequests, undefined);
  const record = (request: Request, deleted = false): void => {
    const key = `${request.metadata.namespace}/${request.metadata.name}`;
    if (deleted) phases.delete(key);
    else phases.set(key, request.status?.phase ?? 'Pending');
  };
  await kube.watch<Request>(
    RESOURCE_TYPES.deployRequests,
    undefined,
    { resourceVersion: list.resourceVersion },
    (event) => {
      if (event.type === 'BOOKMARK') return;
      record(event.object, event.type === 'DELETED');
      if (
        allTerminalAt === undefined &&
        event.type === 'MODIFIED' &&
        TERMINAL_PHASES.includes(event.object.status?.phase ?? 'Pending')
      ) {
        let terminal = 0;
        for (const phase of phases.values()) if (TERMINAL_PHASES.includes(phase)) terminal++;
        if (terminal === phases.size) allTerminalAt = Date.now();
      }
    },
    () => undefined,
  );

  serveRequests(
    { url },
    {
      async seed(payload) {
        const { namespaces, replicas } = payload as SeedRequest;
        for (const namespace of namespaces) {
          await kube.create(RESOURCE_TYPES.namespaces, fixtures.namespace(namespace.name));
          await kube.create(RESOURCE_TYPES.deployPolicies, fixtures.policy(namespace.name));
        }
        const workloads = namespaces.flatMap((namespace) =>
          namespace.workloads.map((workload) => fixtures.deployment(namespace.name, workload, replicas)),
        );
        await inParallel(workloads, writers, (workload) => kube.create(RESOURCE_TYPES.deployments, workload));
        return {};
      },
      async createRequests(payload) {
        await inParallel((payload as CreateRequests).requests, writers, (r) =>
          kube.create(
            RESOURCE_TYPES.deployRequests,
            fixtures.manualRequest(r.namespace, r.name, r.workload, r.image),
          ),
        );
        allTerminalAt = undefined;
        return {};
      },
      phases(): PhaseCounts {
        const byPhase: Record<string, number> = {};
        let terminal = 0;
        for (const phase of phases.values()) {
          byPhase[phase] = (byPhase[phase] ?? 0) + 1;
          if (TERMINAL_PHASES.includes(phase)) terminal++;
        }
        return {
          total: phases.size,
          terminal,
          byPhase,
          ...(allTerminalAt !== undefined ? { allTerminalAt } : {}),
          peakRss: rss.peak(),
        };
      },
      /** Median ms of 5 in-process lists of a namespace's DeployRequests (what each reconcile asks for). */
      async timeNamespaceList(payload) {
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const started = performance.now();
          await kube.list(RESOURCE_TYPES.deployRequests, payload as string);
          times.push(performance.now() - started);
        }
        return times.sort((a, b) => a - b)[2];
      },
      resetRss() {
        rss.reset();
      },
    },
    async () => server?.close(),
  );
}

await main();
