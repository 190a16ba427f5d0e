/**
 * `npm run bench [-- --quick]`: receiver throughput, end-to-end latency and controller scale, each
 * in its own child processes; prints the tables and writes everything as JSON to
 * `bench-results/bench-<timestamp>.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { formatBenchReport, type BenchResults } from './bench-report.js';
import { runControllerScale, type ScaleScenario } from './controller-scale-bench.js';
import { runEndToEndBench, type EndToEndOptions } from './end-to-end-bench.js';
import { runReceiverBench, type ReceiverBenchOptions } from './receiver-bench.js';

/** Sizes of a bench run. */
export interface BenchPlan {
  receiver: ReceiverBenchOptions;
  endToEnd: EndToEndOptions[];
  scale: ScaleScenario[];
}

const FULL: BenchPlan = {
  receiver: { concurrency: 16, accepted: 2000, durationMs: 5000 },
  endToEnd: [
    { rate: 50, workloads: 50, seconds: 15 },
    { rate: 10, workloads: 50, seconds: 10 },
  ],
  scale: [
    { requests: 1000, workloads: 100, namespaces: 10, timeoutMs: 120_000 },
    { requests: 10_000, workloads: 1000, namespaces: 100, timeoutMs: 270_000 },
  ],
};

const QUICK: BenchPlan = {
  receiver: { concurrency: 16, accepted: 300, durationMs: 1500 },
  endToEnd: [{ rate: 50, workloads: 50, seconds: 5 }],
  scale: [
    { requests: 100, workloads: 10, namespaces: 1, timeoutMs: 60_000 },
    { requests: 500, workloads: 50, namespaces: 5, timeoutMs: 60_000 },
  ],
};

/** Run the bench; `--quick` for a smaller run. Returns the path of the JSON results. */
export async function runBench(args: readonly string[]): Promise<string> {
  const quick = args.includes('--quick');
  const plan = quick ? QUICK : FULL;
  const started = new Date();
  const loadAverageAtStart = loadavg();
  const log = (message: string): void => void process.stderr.write(`[bench] ${message}\n`);

  log(`receiver throughput (${JSON.stringify(plan.receiver)})`);
  const receiver = await runReceiverBench(plan.receiver);
  const endToEnd = [];
  for (const options of plan.endToEnd) {
    log(`end to end (${JSON.stringify(options)})`);
    endToEnd.push(await runEndToEndBench(options));
  }
  const scale = [];
  for (const scenario of plan.scale) {
    log(`controller scale (${JSON.stringify(scenario)})`);
    scale.push(await runControllerScale(scenario));
  }

  const results: BenchResults = {
    mode: quick ? 'quick' : 'full',
    startedAt: started.toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverageAtStart,
    },
    receiver,
    endToEnd,
    scale,
    endToEndTargetP99Ms: 50,
  };
  const report = formatBenchReport(results);
  const dir = resolve('bench-results');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify({ ...results, report }, null, 2)}\n`);
  process.stdout.write(`${report}\n\nresults: ${path}\n`);
  return path;
}

await runBench(process.argv.slice(2));
