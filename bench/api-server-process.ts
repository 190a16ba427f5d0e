/**
 * Child process: an embedded API server with the CRDs installed and instant simulated rollouts.
 * Prints `READY {"url": ...}`. The parent seeds it over IPC (`seed`: namespaces with Deployments and
 * a DeployPolicy; `createRequests`: manual DeployRequests written in-process, straight into the
 * store) and reads DeployRequest phases counted by an in-process watch (`phases`).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TERMINAL_PHASES, type DeployPhase, type DeployRequest } from '../src/api/types.js';
import { startEmbeddedApiServer } from '../src/apiserver/embedded-api-server.js';
import type { KubeObject } from '../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../src/kube/resource-types.js';
import { installCrds } from '../src/playground/playground.js';
import { fixtures } from './fixtures.js';
import { samplePeakRss } from './peak-rss.js';
import { serveRequests } from './serve-requests.js';

/** `seed` payload: namespaces, each with these Deployments and the bench DeployPolicy. */
export interface SeedRequest {
  namespaces: Array<{ name: string; workloads: string[] }>;
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

async function main(): Promise<void> {
  const server = await startEmbeddedApiServer({ workloads: { stepMs: 0 }, watchWindow: 200_000 });
  const kube = server.kubeClient();
  await installCrds(kube, CRDS_DIR);
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
    { url: server.url },
    {
      async seed(payload) {
        for (const namespace of (payload as SeedRequest).namespaces) {
          await kube.create(RESOURCE_TYPES.namespaces, fixtures.namespace(namespace.name));
          await kube.create(RESOURCE_TYPES.deployPolicies, fixtures.policy(namespace.name));
          for (const workload of namespace.workloads)
            await kube.create(RESOURCE_TYPES.deployments, fixtures.deployment(namespace.name, workload));
        }
        return { revision: server.revision() };
      },
      async createRequests(payload) {
        for (const r of (payload as CreateRequests).requests)
          await kube.create(
            RESOURCE_TYPES.deployRequests,
            fixtures.manualRequest(r.namespace, r.name, r.workload, r.image),
          );
        allTerminalAt = undefined;
        return { revision: server.revision() };
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
    () => server.close(),
  );
}

await main();
