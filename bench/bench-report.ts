/** The bench's printed report: one table per scenario, targets marked met or missed. */
import type { ScaleResult } from './controller-scale-bench.js';
import type { EndToEndResult } from './end-to-end-bench.js';
import { formatTable } from './format-table.js';
import type { ReceiverBenchResult } from './receiver-bench.js';

/** Everything one bench run measured. */
export interface BenchResults {
  mode: 'full' | 'quick';
  startedAt: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAverageAtStart: number[] };
  receiver: ReceiverBenchResult;
  endToEnd: EndToEndResult[];
  scale: ScaleResult[];
  /** Target p99 from POST to Succeeded, ms. */
  endToEndTargetP99Ms: number;
}

const MIB = 1024 * 1024;
const n0 = (value: number): string => Math.round(value).toLocaleString('en-US');
const n2 = (value: number): string => value.toFixed(2);
const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

/** Render the report (Markdown tables with short headings). */
export function formatBenchReport(results: BenchResults): string {
  const { receiver, machine } = results;
  const out: string[] = [];
  out.push(
    `keyless-deploy bench (${results.mode}), ${results.startedAt}: ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}, load average at start ${machine.loadAverageAtStart.map(n2).join(' ')}`,
  );
  out.push('');
  out.push(
    `Receiver over HTTP, ${receiver.concurrency} concurrent clients; jwtVerify RS256-2048 alone: ${n0(receiver.jwtVerify.perSecond)}/s at concurrency ${receiver.concurrency}, ${n0(receiver.jwtVerify.sequentialPerSecond)}/s one at a time`,
  );
  out.push('');
  out.push(
    formatTable(
      ['tokens', 'requests', 'req/s', 'jwtVerify/s', 'ratio', 'target', 'result', 'answers'],
      receiver.rows.map((row) => [
        row.name,
        n0(row.requests),
        n0(row.perSecond),
        n0(row.jwtVerifyPerSecond),
        `${n2(row.ratio)}x`,
        row.target > 0 ? `>= ${row.target}x` : '-',
        row.target > 0 ? verdict(row.ratio >= row.target) : '-',
        Object.entries(row.statuses)
          .map(([status, count]) => `${status}:${count}`)
          .join(' '),
      ]),
    ),
  );
  out.push(
    `RSA verifications for the four cheap refusal kinds: ${receiver.rsaForCheapRefusals}; receiver peak RSS ${n0(receiver.receiverPeakRss / MIB)} MiB`,
  );
  out.push('');
  out.push(
    `End to end (receiver -> DeployRequest -> controller -> workload patched -> Succeeded), instant rollouts; target p99 to Succeeded <= ${results.endToEndTargetP99Ms} ms`,
  );
  out.push('');
  out.push(
    formatTable(
      [
        'rate',
        'workloads',
        'dispatches',
        'sent/s',
        'stage',
        'p50 ms',
        'p95 ms',
        'p99 ms',
        'max ms',
        'unfinished',
        'result',
      ],
      results.endToEnd.flatMap((run) =>
        (
          [
            ['answered (202)', run.accepted],
            ['workload patched', run.patched],
            ['Succeeded', run.succeeded],
          ] as const
        ).map(([stage, summary]) => [
          `${run.rate}/s`,
          String(run.workloads),
          n0(run.dispatches),
          n2(run.sentPerSecond),
          stage,
          n0(summary.p50),
          n0(summary.p95),
          n0(summary.p99),
          n0(summary.max),
          stage === 'Succeeded' ? String(run.unfinished) : '',
          stage === 'Succeeded' && run.rate >= 50
            ? verdict(run.unfinished === 0 && summary.p99 <= results.endToEndTargetP99Ms)
            : '-',
        ]),
      ),
    ),
  );
  out.push('');
  out.push('Controller scale (manual requests written into the store first, then the controller started)');
  out.push('');
  out.push(
    formatTable(
      [
        'requests',
        'workloads',
        'namespaces',
        'drained in s',
        'final/s',
        'sync s',
        'controller peak RSS MiB',
        'API server peak RSS MiB',
        'reconciles',
        'ns list ms',
        'outcomes',
        'load avg',
      ],
      results.scale.map((run) => [
        n0(run.requests),
        n0(run.workloads),
        n0(run.namespaces),
        run.drainSeconds !== undefined ? n2(run.drainSeconds) : `> ${n0(run.timeoutMs / 1000)} (timeout)`,
        n2(run.perSecond),
        n2(run.syncSeconds),
        n0(run.controllerPeakRss / MIB),
        n0(run.apiServerPeakRss / MIB),
        n0(run.reconciles),
        n2(run.namespaceListMs),
        Object.entries(run.byPhase)
          .map(([phase, count]) => `${phase} ${count}`)
          .join(', '),
        n2(run.loadAverage),
      ]),
    ),
  );
  const big = results.scale.find((run) => run.requests >= 10_000);
  if (big) {
    out.push(
      `Targets: 10k drained within 120 s: ${verdict(big.drainSeconds !== undefined && big.drainSeconds <= 120)}; controller peak RSS <= 300 MiB: ${verdict(big.controllerPeakRss <= 300 * MIB)}`,
    );
  }
  return out.join('\n');
}
