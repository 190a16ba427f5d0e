/**
 * Controller scale: N DeployRequests over M workloads, already stored when the controller starts
 * (a backlog, the hardest case: every request and workload arrives in the first list). Measures the
 * time until every request is in a final phase and the controller's peak RSS (VmHWM of its own
 * process, the real binary `keyless-deploy run --controller`), at two sizes to show the growth.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateAttestationKeyPair } from '../src/attestation/index.js';
import { API_SERVER, CLI, startChild } from './processes.js';
import type { Seed } from './seed.js';

export interface ScaleRun {
  requests: number;
  workloads: number;
  seedSeconds: number;
  drainSeconds: number;
  peakRssMiB: number;
  phases: Record<string, number>;
}

async function run(requests: number, workloads: number, log: (line: string) => void): Promise<ScaleRun> {
  const dir = mkdtempSync(join(tmpdir(), 'keyless-bench-scale-'));
  const seed: Seed = {
    workloads,
    requestsPerWorkload: requests / workloads,
    repositoryId: '2000002',
    stepMs: 0,
  };
  const seedStart = Date.now();
  const api = startChild(['--max-old-space-size=4096', API_SERVER, JSON.stringify(seed)]);
  const children = [api];
  try {
    const { kubeconfig } = (await api.next()) as { kubeconfig: string };
    const seedSeconds = (Date.now() - seedStart) / 1000;
    writeFileSync(join(dir, 'kubeconfig'), kubeconfig);
    writeFileSync(join(dir, 'attestation.pub'), (await generateAttestationKeyPair()).publicKeyPem);
    log(
      `scale: ${requests} requests over ${workloads} workloads stored in ${seedSeconds.toFixed(1)} s; starting the controller`,
    );
    const started = Date.now();
    const controller = startChild([CLI, 'run', '--controller'], {
      KUBECONFIG: join(dir, 'kubeconfig'),
      KEYLESS_ATTESTATION_PUBLIC_KEY_FILE: join(dir, 'attestation.pub'),
      KEYLESS_LEADER_ELECTION: 'false',
      KEYLESS_METRICS_LISTEN: '127.0.0.1:0',
      KEYLESS_CONCURRENCY: '8',
      KEYLESS_LOG_LEVEL: 'warn',
    });
    children.push(controller);
    const drained = await Promise.race([
      api.next() as Promise<{ drained: number; phases: Record<string, number> }>,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('not drained within 600 s')), 600_000),
      ),
    ]);
    const result: ScaleRun = {
      requests,
      workloads,
      seedSeconds,
      drainSeconds: (drained.drained - started) / 1000,
      peakRssMiB: controller.peakRss() / 1024 / 1024,
      phases: drained.phases,
    };
    log(
      `scale: drained in ${result.drainSeconds.toFixed(1)} s, peak RSS ${result.peakRssMiB.toFixed(0)} MiB, ${JSON.stringify(result.phases)}`,
    );
    return result;
  } finally {
    for (const child of children.reverse()) await child.stop();
  }
}

/** The small and the large run. */
export async function controllerScaleBench(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<ScaleRun[]> {
  const sizes: Array<[number, number]> = options.quick
    ? [
        [200, 20],
        [1000, 100],
      ]
    : [
        [1000, 100],
        [10_000, 1000],
      ];
  const runs: ScaleRun[] = [];
  for (const [requests, workloads] of sizes) runs.push(await run(requests, workloads, options.log));
  return runs;
}
