/**
 * End-to-end latency at a steady dispatch rate: POST /v1/dispatch to the receiver child, the
 * controller child deploys, the API server child rolls out instantly. The bench process watches
 * DeployRequests and Deployments over HTTP and timestamps, per dispatch, the answer, the first
 * Deployment event carrying the request's annotation (patched) and the request's Succeeded event.
 */
import { readFileSync } from 'node:fs';
import { ANNOTATIONS, type DeployRequest } from '../src/api/types.js';
import { createClientNodeKubeClient } from '../src/kube/client-node-kube-client.js';
import type { KubeObject, WatchHandle } from '../src/kube/kube-client.js';
import { loadKubeConfig } from '../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../src/kube/resource-types.js';
import type { ApiServerMode } from './bench-api-server.js';
import { BENCH_AUDIENCE, startBenchCluster } from './bench-cluster.js';
import { BENCH_CLAIMS } from './fixtures.js';
import { startCpuMeter, type CpuMeter, type RowCpu } from './process-cpu.js';
import { summarizeLatency, type LatencySummary } from './latency-summary.js';

/** Settings of the end-to-end bench. */
export interface EndToEndOptions {
  /** Dispatches per second (open loop: sent on schedule, not after the previous answer). */
  rate: number;
  workloads: number;
  /** Measured seconds (after a warm-up of 2 s that is not counted). */
  seconds: number;
}

/** Results of the end-to-end bench (latencies in ms from sending the POST). */
export interface EndToEndResult {
  rate: number;
  workloads: number;
  dispatches: number;
  /** Achieved send rate over the measured part. */
  sentPerSecond: number;
  accepted: LatencySummary;
  patched: LatencySummary;
  succeeded: LatencySummary;
  /** Measured dispatches that did not reach Succeeded within 30 s of the last one. */
  unfinished: number;
  statuses: Record<string, number>;
  /** CPU of each process from the first measured dispatch until all Succeeded (or the wait ended). */
  cpu: RowCpu;
}

const NAMESPACE = 'bench-e2e';
const WARM_UP_SECONDS = 2;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Run the end-to-end bench. On a real control plane the Deployments have 0 replicas: the real
 * deployment controller still creates a ReplicaSet and reports the rollout, but no Pods are
 * scheduled (the nearest a real server comes to instant rollouts).
 */
export async function runEndToEndBench(
  options: EndToEndOptions,
  mode: ApiServerMode = 'embedded',
): Promise<EndToEndResult> {
  const cluster = await startBenchCluster(mode);
  const watches: WatchHandle[] = [];
  let stopped = false;
  try {
    const workloads = Array.from({ length: options.workloads }, (_, i) => `web-${i}`);
    await cluster.seed({
      namespaces: [{ name: NAMESPACE, workloads }],
      ...(mode === 'cluster' ? { replicas: 0 } : {}),
    });
    const receiver = await cluster.startReceiver();
    const controller = await cluster.startController();
    const components = cluster.api.controlPlane?.pids() ?? {};
    const processes: Record<string, number[]> = {
      receiver: [receiver.pid],
      controller: [controller.pid],
      'API server': cluster.api.pids(),
      ...(cluster.api.controlPlane
        ? {
            'kube-controller-manager': [components['kube-controller-manager'] ?? 0],
            'kube-scheduler + kwok': [components['kube-scheduler'] ?? 0, components.kwok ?? 0],
          }
        : {}),
      'bench (load, watches)': [process.pid],
    };

    const total = options.rate * (WARM_UP_SECONDS + options.seconds);
    const tokens = await cluster.issuer.mint(
      Array.from({ length: total }, () => ({
        claims: BENCH_CLAIMS,
        options: { audience: BENCH_AUDIENCE, expiresInSeconds: 900 },
      })),
    );

    const patchedAt = new Map<string, number>();
    const succeededAt = new Map<string, number>();
    const kube = createClientNodeKubeClient(
      loadKubeConfig({ kubeconfigYaml: readFileSync(cluster.api.kubeconfigPath, 'utf8') }),
    );
    const prefix = `${NAMESPACE}/`;
    for (const [type, onObject] of [
      [
        RESOURCE_TYPES.deployRequests,
        (object: KubeObject) => {
          const name = object.metadata.name ?? '';
          if ((object as DeployRequest & KubeObject).status?.phase === 'Succeeded' && !succeededAt.has(name))
            succeededAt.set(name, performance.now());
        },
      ],
      [
        RESOURCE_TYPES.deployments,
        (object: KubeObject) => {
          const marker = object.metadata.annotations?.[ANNOTATIONS.deployRequest];
          if (marker?.startsWith(prefix)) {
            const name = marker.slice(prefix.length);
            if (!patchedAt.has(name)) patchedAt.set(name, performance.now());
          }
        },
      ],
    ] as const) {
      // A closed watch (kube-apiserver closes one that falls behind) lists and watches again; the
      // list's objects count as seen then.
      const follow = async (relisted: boolean): Promise<void> => {
        if (stopped) return;
        const list = await kube.list(type, NAMESPACE);
        if (relisted) for (const object of list.items) onObject(object);
        watches.push(
          await kube.watch(
            type,
            NAMESPACE,
            { resourceVersion: list.resourceVersion },
            (event) => event.type === 'MODIFIED' && onObject(event.object),
            () => void setTimeout(() => void follow(true).catch(() => undefined), 200),
          ),
        );
      };
      await follow(false);
    }

    const sentAt: number[] = [];
    const names: Array<string | undefined> = [];
    const answeredAt: number[] = [];
    const statuses: Record<string, number> = {};
    const inflight: Array<Promise<void>> = [];
    const dispatch = async (i: number): Promise<void> => {
      sentAt[i] = performance.now();
      const response = await fetch(`${receiver.url}/v1/dispatch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          namespace: NAMESPACE,
          target: { kind: 'Deployment', name: workloads[i % workloads.length] },
          container: 'web',
          image: `ghcr.io/acme/web:2.${Math.floor(i / workloads.length)}.0`,
        }),
      });
      const body = (await response.json()) as { name?: string };
      answeredAt[i] = performance.now();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      names[i] = body.name;
    };
    const start = performance.now();
    const interval = 1000 / options.rate;
    const warm = options.rate * WARM_UP_SECONDS;
    let meter: CpuMeter | undefined;
    for (let i = 0; i < total; i++) {
      await sleep(start + i * interval - performance.now());
      if (i === warm) meter = startCpuMeter(processes);
      inflight.push(dispatch(i));
    }
    const sendEnd = performance.now();
    await Promise.all(inflight);
    const deadline = performance.now() + 30_000;
    const done = (): boolean =>
      names.slice(warm).every((name) => name !== undefined && succeededAt.has(name));
    while (!done() && performance.now() < deadline) await sleep(50);
    const cpu = meter!.stop(total - warm);

    const accepted: number[] = [];
    const patched: number[] = [];
    const succeeded: number[] = [];
    let unfinished = 0;
    for (let i = warm; i < total; i++) {
      const name = names[i];
      const sent = sentAt[i]!;
      accepted.push(answeredAt[i]! - sent);
      const p = name ? patchedAt.get(name) : undefined;
      const s = name ? succeededAt.get(name) : undefined;
      if (p !== undefined) patched.push(p - sent);
      if (s !== undefined) succeeded.push(s - sent);
      else unfinished++;
    }
    return {
      rate: options.rate,
      workloads: options.workloads,
      dispatches: total - warm,
      sentPerSecond: (total - warm) / ((sendEnd - sentAt[warm]!) / 1000),
      accepted: summarizeLatency(accepted),
      patched: summarizeLatency(patched),
      succeeded: summarizeLatency(succeeded),
      unfinished,
      statuses,
      cpu,
    };
  } finally {
    stopped = true;
    for (const watch of watches) watch.stop();
    await cluster.close();
  }
}
