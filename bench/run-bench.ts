/**
 * `npm run bench [-- --quick] [-- --cluster [--peer]] [-- --only=receiver,end-to-end,scale,direct]`: receiver throughput, end-to-end latency and
 * controller scale, each in its own child processes, against the embedded API server (default) or
 * a real control plane (`--cluster`, from `npm run cluster-tools`, started fresh per scenario by
 * the project's starter in dist/, which this builds). `--peer` (with `--cluster`) adds Flux
 * notification-controller's `generic-oidc` Receiver (built by `npm run peer-tools`) side by side.
 * Prints the tables and writes everything as JSON to `bench-results/bench-<timestamp>.json`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { REPOSITORY_ROOT, type ApiServerMode } from './bench-api-server.js';
import { formatBenchReport, type BenchPart, type BenchResults } from './bench-report.js';
import {
  runControllerScale,
  scaleTimeoutMs,
  type ScaleResult,
  type ScaleScenario,
} from './controller-scale-bench.js';
import { runDirectRolloutBench } from './direct-rollout-bench.js';
import { runEndToEndBench, type EndToEndOptions } from './end-to-end-bench.js';
import { runReceiverBench, type ReceiverBenchOptions } from './receiver-bench.js';

/** Sizes of a bench run. */
export interface BenchPlan {
  receiver: ReceiverBenchOptions;
  /** The first is the baseline the others' p99 is compared with. */
  endToEnd: EndToEndOptions[];
  /** The last is compared with the first for linear scale. */
  scale: ScaleScenario[];
  /** Rollouts each way in the direct comparison (real control plane). */
  directRollouts: number;
}

const FULL: BenchPlan = {
  receiver: { concurrency: 16, accepted: 2000, durationMs: 5000, outageTokens: 100 },
  endToEnd: [
    { rate: 10, workloads: 50, seconds: 10 },
    { rate: 50, workloads: 50, seconds: 15 },
    { rate: 100, workloads: 50, seconds: 15 },
    { rate: 200, workloads: 50, seconds: 15 },
  ],
  scale: [
    { requests: 1000, workloads: 100, namespaces: 10, timeoutMs: 120_000 },
    { requests: 10_000, workloads: 1000, namespaces: 100, timeoutMs: 400_000 },
  ],
  directRollouts: 5,
};

const QUICK: BenchPlan = {
  receiver: { concurrency: 16, accepted: 300, durationMs: 1500, outageTokens: 50 },
  endToEnd: [
    { rate: 10, workloads: 50, seconds: 5 },
    { rate: 50, workloads: 50, seconds: 5 },
  ],
  scale: [
    { requests: 100, workloads: 10, namespaces: 1, timeoutMs: 60_000 },
    { requests: 1000, workloads: 100, namespaces: 10, timeoutMs: 120_000 },
  ],
  directRollouts: 3,
};

/** Run the bench. Returns the path of the JSON results. */
export async function runBench(args: readonly string[]): Promise<string> {
  const quick = args.includes('--quick');
  const mode: ApiServerMode = args.includes('--cluster') ? 'cluster' : 'embedded';
  const peer = args.includes('--peer');
  if (peer && mode !== 'cluster')
    throw new Error('--peer runs against the real control plane: add --cluster');
  const plan = quick ? QUICK : FULL;
  const parts = selectedParts(args, mode);
  const started = new Date();
  const loadAverageAtStart = loadavg();
  const log = (message: string): void =>
    void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
  if (mode === 'cluster') {
    // The control plane's starter is used from dist/, as the cluster tests use it.
    log('building dist/ (npm run build) for the control plane starter');
    execFileSync(
      process.execPath,
      [join(REPOSITORY_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: REPOSITORY_ROOT,
        stdio: 'inherit',
      },
    );
  }

  let receiver;
  if (parts.includes('receiver')) {
    log(`receiver throughput (${JSON.stringify(plan.receiver)}${peer ? ', with the Flux peer' : ''})`);
    receiver = await runReceiverBench(plan.receiver, mode, peer);
  }
  // A scenario that fails is reported and the run goes on: the others' figures still count.
  const failures: string[] = [];
  const attempt = async <T>(what: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (error) {
      const message = `${what} failed: ${error instanceof Error ? error.message : String(error)}`;
      log(message);
      failures.push(message);
      return undefined;
    }
  };
  const endToEnd = [];
  for (const options of parts.includes('end-to-end') ? plan.endToEnd : []) {
    log(`end to end (${JSON.stringify(options)})`);
    const run = await attempt(`end to end ${options.rate}/s`, () => runEndToEndBench(options, mode));
    if (run) endToEnd.push(run);
  }
  const scale: ScaleResult[] = [];
  for (const planned of parts.includes('scale') ? plan.scale : []) {
    const scenario = { ...planned, timeoutMs: scaleTimeoutMs(planned, scale[0]) };
    log(`controller scale (${JSON.stringify(scenario)})`);
    const run = await attempt(`controller scale ${scenario.requests}`, () =>
      runControllerScale(scenario, mode),
    );
    if (run) scale.push(run);
  }
  let direct;
  if (parts.includes('direct')) {
    log(`direct rollouts vs keyless-deploy (${plan.directRollouts} each)`);
    direct = await attempt('direct rollouts', () => runDirectRolloutBench(plan.directRollouts));
  }

  const results: BenchResults = {
    mode: quick ? 'quick' : 'full',
    parts,
    apiServer: receiver?.apiServer ?? (mode === 'embedded' ? 'embedded' : 'kube-apiserver'),
    startedAt: started.toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverageAtStart,
      loadAverageAtEnd: loadavg(),
    },
    ...(receiver ? { receiver } : {}),
    endToEnd,
    scale,
    ...(direct ? { direct } : {}),
    failures,
  };
  const report = formatBenchReport(results);
  const dir = resolve('bench-results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `bench-${mode}-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify({ ...results, report }, null, 2)}\n`);
  process.stdout.write(`${report}\n\nresults: ${path}\n`);
  return path;
}

/**
 * The parts `--only a,b` names (receiver, end-to-end, scale, direct), else all of them; `direct`
 * compares with `kubectl` on a real control plane and runs only with `--cluster`.
 */
function selectedParts(args: readonly string[], mode: ApiServerMode): BenchPart[] {
  const all: BenchPart[] = [
    'receiver',
    'end-to-end',
    'scale',
    ...(mode === 'cluster' ? ['direct' as const] : []),
  ];
  const only = args.find((arg) => arg.startsWith('--only='))?.slice('--only='.length);
  if (only === undefined) return all;
  const named = only.split(',');
  const unknown = named.filter((part) => !all.includes(part as BenchPart));
  if (unknown.length > 0)
    throw new Error(`--only: unknown part ${unknown.join(', ')} (parts: ${all.join(', ')})`);
  return all.filter((part) => named.includes(part));
}

await runBench(process.argv.slice(2));
