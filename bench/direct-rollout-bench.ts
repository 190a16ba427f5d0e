/**
 * Real control plane only: how long a rollout takes through keyless-deploy (dispatch -> Succeeded)
 * against the same rollout done directly (`kubectl set image` -> `kubectl rollout status` returns),
 * in the same run, on two Deployments of 2 replicas whose Pods kwok runs. Rollouts alternate
 * between the two ways so machine noise hits both alike.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DeployRequest } from '../src/api/types.js';
import { createClientNodeKubeClient } from '../src/kube/client-node-kube-client.js';
import type { KubeObject } from '../src/kube/kube-client.js';
import { loadKubeConfig } from '../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../src/kube/resource-types.js';
import { REPOSITORY_ROOT } from './bench-api-server.js';
import { BENCH_AUDIENCE, startBenchCluster } from './bench-cluster.js';
import { BENCH_CLAIMS } from './fixtures.js';
import { summarizeLatency, type LatencySummary } from './latency-summary.js';

const run = promisify(execFile);
const NAMESPACE = 'bench-direct';

/** Results of the comparison (ms). */
export interface DirectRolloutResult {
  rollouts: number;
  replicas: number;
  direct: LatencySummary;
  keyless: LatencySummary;
  /** Median keyless over median direct. */
  ratio: number;
}

/** Run `rollouts` rollouts each way. */
export async function runDirectRolloutBench(rollouts: number): Promise<DirectRolloutResult> {
  const cluster = await startBenchCluster('cluster');
  try {
    await cluster.seed({ namespaces: [{ name: NAMESPACE, workloads: ['direct', 'keyless'] }], replicas: 2 });
    const kubectl = (...args: string[]) =>
      run(join(REPOSITORY_ROOT, '.tools', 'bin', 'kubectl'), ['-n', NAMESPACE, ...args], {
        env: { ...process.env, KUBECONFIG: cluster.api.kubeconfigPath },
      });
    // Both start rolled out (their first ReplicaSet's Pods Ready).
    for (const name of ['direct', 'keyless'])
      await kubectl('rollout', 'status', `deployment/${name}`, '--timeout=180s');
    const receiver = await cluster.startReceiver();
    await cluster.startController();
    const kube = createClientNodeKubeClient(
      loadKubeConfig({ kubeconfigYaml: readFileSync(cluster.api.kubeconfigPath, 'utf8') }),
    );
    const tokens = await cluster.issuer.mint(
      Array.from({ length: rollouts }, () => ({
        claims: BENCH_CLAIMS,
        options: { audience: BENCH_AUDIENCE, expiresInSeconds: 900 },
      })),
    );

    const direct: number[] = [];
    const keyless: number[] = [];
    const viaKubectl = async (i: number): Promise<void> => {
      const started = performance.now();
      await kubectl('set', 'image', 'deployment/direct', `web=ghcr.io/acme/web:4.0.${i}`);
      await kubectl('rollout', 'status', 'deployment/direct', '--timeout=180s');
      direct.push(performance.now() - started);
    };
    const viaKeyless = async (i: number): Promise<void> => {
      const started = performance.now();
      const response = await fetch(`${receiver.url}/v1/dispatch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[i]}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          namespace: NAMESPACE,
          target: { kind: 'Deployment', name: 'keyless' },
          container: 'web',
          image: `ghcr.io/acme/web:4.0.${i}`,
        }),
      });
      const { name } = (await response.json()) as { name?: string };
      if (response.status !== 202 || !name) throw new Error(`dispatch answered ${response.status}`);
      const deadline = performance.now() + 180_000;
      for (;;) {
        const request = await kube.get<DeployRequest & KubeObject>(
          RESOURCE_TYPES.deployRequests,
          NAMESPACE,
          name,
        );
        const phase = request?.status?.phase;
        if (phase === 'Succeeded') break;
        if (phase && phase !== 'Pending' && phase !== 'Queued' && phase !== 'Deploying')
          throw new Error(`DeployRequest ${name} ended ${phase}: ${request?.status?.message}`);
        if (performance.now() > deadline) throw new Error(`DeployRequest ${name} not Succeeded in 180 s`);
        // Polled every 25 ms: the poll interval bounds the error of this figure, not a wait for a condition.
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      keyless.push(performance.now() - started);
    };
    for (let i = 0; i < rollouts; i++) {
      if (i % 2 === 0) {
        await viaKubectl(i);
        await viaKeyless(i);
      } else {
        await viaKeyless(i);
        await viaKubectl(i);
      }
    }
    const summary = { direct: summarizeLatency(direct), keyless: summarizeLatency(keyless) };
    return { rollouts, replicas: 2, ...summary, ratio: summary.keyless.p50 / summary.direct.p50 };
  } finally {
    await cluster.close();
  }
}
