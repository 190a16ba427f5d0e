/**
 * `npm run bench`: receiver verification throughput, end-to-end latency and controller scale,
 * printed as a table and written as JSON to bench-results/ (the path is printed). `--quick` runs
 * smaller sizes (a smoke run, not figures to publish). See docs/performance.md.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { controllerScaleBench, type ScaleRun } from './controller-scale-bench.js';
import { e2eLatencyBench, type E2eBenchResult } from './e2e-latency-bench.js';
import { PROJECT_ROOT } from './processes.js';
import { receiverBench, type ReceiverBenchResult } from './receiver-bench.js';
import { round, table } from './stats.js';

interface Target {
  name: string;
  measured: string;
  target: string;
  met: boolean;
}

function machine(): Record<string, unknown> {
  const cpuModel =
    /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
  return {
    cpus: cpus().length,
    cpuModel,
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

function targets(receiver: ReceiverBenchResult, e2e: E2eBenchResult, scale: ScaleRun[]): Target[] {
  const list: Target[] = [
    {
      name: 'accepted dispatches vs jwtVerify',
      measured: `${round(receiver.accepted.ratio, 2)} x`,
      target: '>= 0.4 x',
      met: receiver.accepted.ratio >= 0.4,
    },
    {
      name: 'bad signature rejected vs jwtVerify',
      measured: `${round(receiver.rejected['bad signature']?.ratio ?? 0, 2)} x`,
      target: '>= 0.8 x',
      met: (receiver.rejected['bad signature']?.ratio ?? 0) >= 0.8,
    },
  ];
  for (const kind of ['garbage', 'unknown issuer', 'wrong audience', 'expired']) {
    const ratio = receiver.rejected[kind]?.ratio ?? 0;
    list.push({
      name: `${kind} rejected vs jwtVerify`,
      measured: `${round(ratio, 2)} x`,
      target: '>= 3 x',
      met: ratio >= 3,
    });
  }
  list.push({
    name: `dispatch -> Succeeded p99 (${e2e.rate}/s, ${e2e.workloads} workloads)`,
    measured: `${e2e.succeededMs.p99} ms`,
    target: '<= 50 ms',
    met: e2e.succeededMs.p99 <= 50,
  });
  const [small, large] = scale;
  if (small && large) {
    const factor = large.requests / small.requests;
    list.push(
      {
        name: `drain ${large.requests} requests / ${large.workloads} workloads`,
        measured: `${round(large.drainSeconds)} s`,
        target: '<= 120 s',
        met: large.drainSeconds <= 120,
      },
      {
        name: `controller peak RSS at ${large.requests}`,
        measured: `${round(large.peakRssMiB, 0)} MiB`,
        target: '<= 300 MiB',
        met: large.peakRssMiB <= 300,
      },
      {
        name: `drain time growth ${small.requests} -> ${large.requests}`,
        measured: `${round(large.drainSeconds / small.drainSeconds, 1)} x`,
        target: `<= ${factor} x (linear)`,
        met: large.drainSeconds / small.drainSeconds <= factor,
      },
      {
        name: `peak RSS growth ${small.requests} -> ${large.requests}`,
        measured: `${round(large.peakRssMiB / small.peakRssMiB, 1)} x`,
        target: `<= ${factor} x (linear)`,
        met: large.peakRssMiB / small.peakRssMiB <= factor,
      },
    );
  }
  return list;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  const started = new Date();
  log(`keyless-deploy bench${quick ? ' (quick)' : ''} on ${JSON.stringify(machine())}`);
  const receiver = await receiverBench({ quick, log });
  const e2e = await e2eLatencyBench({ quick, log });
  const scale = await controllerScaleBench({ quick, log });
  const results = {
    started: started.toISOString(),
    quick,
    machine: machine(),
    receiver,
    e2e,
    scale,
    targets: targets(receiver, e2e, scale),
  };

  const lines: string[] = [];
  lines.push(`keyless-deploy benchmark, ${started.toISOString()}${quick ? ' (quick run)' : ''}`);
  const m = results.machine;
  lines.push(
    `machine: ${String(m.cpus)} CPUs (${String(m.cpuModel)}), ${String(m.memoryGiB)} GiB, Node ${String(m.node)}`,
  );
  lines.push('');
  lines.push(
    table([
      [
        'receiver (HTTP, concurrency ' + receiver.concurrency + ')',
        'requests',
        'per second',
        'vs jwtVerify',
        'answers',
      ],
      ['plain jose jwtVerify RS256 (one thread)', '-', round(receiver.jwtVerifyPerSecond, 0), '1.00 x', '-'],
      [
        'accepted dispatch (creates a DeployRequest)',
        receiver.accepted.requests,
        round(receiver.accepted.perSecond, 0),
        `${round(receiver.accepted.ratio, 2)} x`,
        JSON.stringify(receiver.accepted.statuses),
      ],
      ...Object.entries(receiver.rejected).map(([kind, r]) => [
        `rejected: ${kind}`,
        r.requests,
        round(r.perSecond, 0),
        `${round(r.ratio, 2)} x`,
        JSON.stringify(r.statuses),
      ]),
    ]),
  );
  lines.push('');
  lines.push(
    table([
      [
        `end to end (${e2e.dispatches} dispatches, ${e2e.rate}/s, ${e2e.workloads} workloads)`,
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'max ms',
      ],
      [
        'POST /v1/dispatch answered (202)',
        e2e.acceptedMs.p50,
        e2e.acceptedMs.p95,
        e2e.acceptedMs.p99,
        e2e.acceptedMs.max,
      ],
      [
        'dispatch -> workload patched',
        e2e.patchedMs.p50,
        e2e.patchedMs.p95,
        e2e.patchedMs.p99,
        e2e.patchedMs.max,
      ],
      [
        'dispatch -> Succeeded',
        e2e.succeededMs.p50,
        e2e.succeededMs.p95,
        e2e.succeededMs.p99,
        e2e.succeededMs.max,
      ],
    ]),
  );
  lines.push(`outcomes: ${JSON.stringify(e2e.outcomes)}`);
  lines.push('');
  lines.push(
    table([
      ['controller scale (backlog)', 'workloads', 'drain s', 'peak RSS MiB', 'outcomes'],
      ...scale.map((s) => [
        `${s.requests} requests`,
        s.workloads,
        round(s.drainSeconds),
        round(s.peakRssMiB, 0),
        JSON.stringify(s.phases),
      ]),
    ]),
  );
  lines.push('');
  lines.push(
    table([
      ['target', 'measured', 'target', 'met'],
      ...results.targets.map((t) => [t.name, t.measured, t.target, t.met ? 'yes' : 'NO']),
    ]),
  );
  const text = lines.join('\n');
  const dir = join(PROJECT_ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${started.toISOString().replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify({ ...results, table: text }, null, 2)}\n`);
  process.stdout.write(`${text}\n\nresults written to ${file}\n`);
}

await main();
