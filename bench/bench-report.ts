/**
 * The bench's printed report: one table per scenario, then every target as a ratio that names its
 * two figures and where each was measured in this run, marked MET or MISSED.
 */
import { chartNodeArgs } from './chart-node-settings.js';
import { SCALE_SLACK, type ScaleResult } from './controller-scale-bench.js';
import type { DirectRolloutResult } from './direct-rollout-bench.js';
import type { EndToEndResult } from './end-to-end-bench.js';
import type { RowCpu } from './process-cpu.js';
import { formatTable } from './format-table.js';
import type { ReceiverBenchResult } from './receiver-bench.js';

/** Everything one bench run measured. */
export interface BenchResults {
  mode: 'full' | 'quick';
  /** `embedded` or `kube-apiserver vX`. */
  apiServer: string;
  startedAt: string;
  machine: {
    cpus: number;
    cpuModel: string;
    node: string;
    platform: string;
    loadAverageAtStart: number[];
    loadAverageAtEnd: number[];
  };
  /** Which parts of the bench ran (`--only`). */
  parts: BenchPart[];
  /** Absent when `--only` left the receiver out. */
  receiver?: ReceiverBenchResult;
  /** The first run is the baseline rate. */
  endToEnd: EndToEndResult[];
  scale: ScaleResult[];
  direct?: DirectRolloutResult;
  /** Scenarios that failed (their figures are missing). */
  failures: string[];
}

/** The parts of a bench run; `--only` picks some. */
export type BenchPart = 'receiver' | 'end-to-end' | 'scale' | 'direct';

const MIB = 1024 * 1024;
const n0 = (value: number): string => Math.round(value).toLocaleString('en-US');
const n2 = (value: number): string => value.toFixed(2);
const ms = (value: number): string => `${n0(value)} ms`;
const verdict = (ok: boolean): string => (ok ? 'MET' : 'MISSED');
/** A ratio with two decimals, or four where two would print the target it falls short of or passes (2.9996x, not 3.00x). */
const ratioText = (ratio: number, target?: number): string =>
  target !== undefined && ratio !== target && n2(ratio) === n2(target) ? ratio.toFixed(4) : n2(ratio);

/** A target line: `what: A / B = r (op target): MET|MISSED`, both figures named with their source. */
function targetLine(
  what: string,
  numerator: [string, string],
  denominator: [string, string],
  ratio: number,
  op: '>=' | '<=',
  target: number,
): string {
  const ok = op === '>=' ? ratio >= target : ratio <= target;
  return `- ${what}: ${numerator[0]} (${numerator[1]}) / ${denominator[0]} (${denominator[1]}) = ${ratioText(ratio, target)}x, target ${op} ${target}x: ${verdict(ok)}`;
}

/** Milliseconds of CPU per request, all processes of a row together. */
const cpuTotal = (cpu: RowCpu): number =>
  Object.values(cpu.msPerRequest).reduce((sum, value) => sum + value, 0);

/** Busy vCPUs, each process's ms per request (cores), and the total. */
function cpuCells(cpu: RowCpu): string[] {
  return [
    n2(cpu.busyCpus),
    Object.entries(cpu.msPerRequest)
      .map(([name, value]) => `${name} ${value.toFixed(3)} (${n2(cpu.coresUsed[name]!)})`)
      .join(', '),
    cpuTotal(cpu).toFixed(3),
  ];
}

/** Render the report (Markdown tables with short headings). */
export function formatBenchReport(results: BenchResults): string {
  const { receiver, machine } = results;
  const src = results.apiServer;
  const out: string[] = [];
  const targets: string[] = [];
  out.push(
    `keyless-deploy bench (${results.mode}, API server: ${src}), ${results.startedAt}: ${machine.cpus} x ${machine.cpuModel}, Node ${machine.node}, load average at start ${machine.loadAverageAtStart.map(n2).join(' ')}, at end ${machine.loadAverageAtEnd.map(n2).join(' ')}`,
  );
  out.push('');
  if (receiver) {
    out.push(
      `Receiver over HTTP, ${receiver.concurrency} concurrent clients, closed loop; every ratio is against a floor measured in this run with the same load generator`,
    );
    out.push('');
    out.push(
      formatTable(
        [
          'tokens',
          'requests',
          'req/s',
          'p50 ms',
          'p99 ms',
          'floor req/s',
          'ratio',
          'target',
          'result',
          'answers',
        ],
        receiver.rows.map((row) => [
          row.name,
          n0(row.requests),
          n0(row.perSecond),
          row.latency.count ? n2(row.latency.p50) : '-',
          row.latency.count ? n2(row.latency.p99) : '-',
          row.floor ? n0(row.floor.perSecond) : '-',
          row.ratio !== undefined ? `${n2(row.ratio)}x` : '-',
          row.target !== undefined ? `>= ${row.target}x` : '-',
          row.target !== undefined && row.ratio !== undefined ? verdict(row.ratio >= row.target) : '-',
          Object.entries(row.statuses)
            .map(([status, count]) => `${status}:${count}`)
            .join(' '),
        ]),
      ),
    );
    out.push(
      `RSA verifications for the four cheap refusal kinds: ${receiver.rsaForCheapRefusals}; receiver peak RSS ${n0(receiver.receiverPeakRss / MIB)} MiB`,
    );
    const cpuRows = receiver.rows.filter((row) => row.cpu);
    if (cpuRows.length) {
      out.push('');
      out.push(
        `CPU of each row (user + system, all threads, from /proc), per request and in cores over the row; ${machine.cpus} vCPUs. The last column is what these processes would use at the target's rate (target x floor rate) at the row's CPU per request`,
      );
      out.push('');
      out.push(
        formatTable(
          [
            'tokens',
            'machine busy vCPUs',
            'per request: process ms (cores)',
            'total ms',
            'vCPUs at target rate',
          ],
          cpuRows.map((row) => {
            const cpu = row.cpu!;
            return [
              row.name,
              ...cpuCells(cpu),
              // The CPU this row's processes would use at the target's rate, at this row's cost per request.
              row.floor && row.target !== undefined
                ? n2((row.target * row.floor.perSecond * cpuTotal(cpu)) / 1000)
                : '-',
            ];
          }),
        ),
      );
    }
    for (const row of receiver.rows)
      if (row.apiCallsPerRequest)
        out.push(
          `kube-apiserver calls per ${row.name} request (apiserver_request_total): ${JSON.stringify(row.apiCallsPerRequest)}`,
        );
    for (const row of receiver.rows)
      if (row.floor && row.ratio !== undefined && row.target !== undefined)
        targets.push(
          targetLine(
            `receiver ${row.name}`,
            [`${n0(row.perSecond)}/s`, `keyless-deploy receiver, ${src}`],
            [`${n0(row.floor.perSecond)}/s`, row.floor.name],
            row.ratio,
            '>=',
            row.target,
          ),
        );
    targets.push(
      `- RSA verifications for the four cheap refusal kinds: ${receiver.rsaForCheapRefusals}, target 0: ${verdict(receiver.rsaForCheapRefusals === 0)}`,
    );

    const peer = receiver.peer;
    if (peer) {
      out.push('');
      out.push(
        `Versus Flux notification-controller ${peer.info.version} (generic-oidc Receiver), same issuer, API server (${src}), load generator and concurrency, same run`,
      );
      out.push('');
      out.push(
        formatTable(
          [
            'tokens',
            'keyless req/s',
            'keyless p50 ms',
            'keyless p99 ms',
            'Flux req/s',
            'Flux p50 ms',
            'Flux p99 ms',
            'keyless / Flux',
            'target',
            'result',
            'issuer fetches per Flux request',
            'Flux answers',
          ],
          peer.rows.map((row) => {
            const ours = receiver.rows.find((r) => r.name === row.name)!;
            return [
              row.name,
              n0(ours.perSecond),
              n2(ours.latency.p50),
              n2(ours.latency.p99),
              n0(row.perSecond),
              n2(row.latency.p50),
              n2(row.latency.p99),
              `${ratioText(row.versusPeer, row.peerTarget)}x`,
              row.peerTarget !== undefined ? `>= ${row.peerTarget}x` : 'report',
              row.peerTarget !== undefined ? verdict(row.versusPeer >= row.peerTarget) : '-',
              n2(peer.issuerFetchesPerRequest[row.name] ?? 0),
              Object.entries(row.statuses)
                .map(([status, count]) => `${status}:${count}`)
                .join(' '),
            ];
          }),
        ),
      );
      for (const row of peer.rows)
        if (row.apiCallsPerRequest)
          out.push(
            `kube-apiserver calls per Flux ${row.name} request: ${JSON.stringify(row.apiCallsPerRequest)}`,
          );
      const o = peer.outage;
      out.push(
        `Issuer down (every discovery/JWKS fetch answered 503), ${o.sent} fresh valid tokens each: keyless-deploy accepted ${o.keyless} (${JSON.stringify(o.keylessStatuses)}), Flux accepted ${o.peer} (${JSON.stringify(o.peerStatuses)}); Flux peak RSS ${n0(peer.peerPeakRss / MIB)} MiB`,
      );
      for (const row of peer.rows) {
        const ours = receiver.rows.find((r) => r.name === row.name)!;
        const line = targetLine(
          `versus Flux, ${row.name}`,
          [`${n0(ours.perSecond)}/s`, `keyless-deploy receiver, ${src}`],
          [`${n0(row.perSecond)}/s`, `Flux generic-oidc Receiver, ${src}`],
          row.versusPeer,
          '>=',
          row.peerTarget ?? 0,
        );
        targets.push(
          row.peerTarget !== undefined
            ? line
            : line.replace(/, target >= 0x: MET$/, ' (reported, no target)'),
        );
      }
      targets.push(
        `- issuer outage: keyless-deploy accepted ${o.keyless}/${o.sent} valid tokens, Flux ${o.peer}/${o.sent}; target: keyless accepts them (cached keys) where Flux accepts none: ${verdict(o.keyless === o.sent && o.peer === 0)}`,
      );
    }
  }
  if (results.parts.includes('end-to-end')) {
    out.push('');
    const base = results.endToEnd[0];
    out.push(
      `End to end (receiver -> DeployRequest -> controller -> workload patched -> Succeeded), one namespace, ${src === 'embedded' ? 'instant simulated rollouts' : 'Deployments of 0 replicas (the real deployment controller still rolls out a ReplicaSet)'}; target: p99 to Succeeded at 50/s <= 3x the p99 at ${base?.rate ?? 10}/s, nothing unfinished`,
    );
    out.push('');
    const flat = (run: EndToEndResult): boolean =>
      base !== undefined && run.unfinished === 0 && run.succeeded.p99 <= 3 * base.succeeded.p99;
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
          'p99 / base p99',
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
            stage === 'Succeeded' && base && run !== base
              ? `${n2(summary.p99 / base.succeeded.p99)}x (${flat(run) ? 'flat' : 'not flat'})`
              : '',
          ]),
        ),
      ),
    );
    out.push('');
    out.push(
      `CPU of each rate (user + system, all threads, from /proc) from the first measured dispatch until all Succeeded, per dispatch and in cores; ${machine.cpus} vCPUs`,
    );
    out.push('');
    out.push(
      formatTable(
        ['rate', 'machine busy vCPUs', 'per dispatch: process ms (cores)', 'total ms'],
        results.endToEnd.map((run) => [`${run.rate}/s`, ...cpuCells(run.cpu)]),
      ),
    );
    if (base) {
      for (const run of results.endToEnd.slice(1)) {
        const line = targetLine(
          `end to end ${run.rate}/s p99 to Succeeded (unfinished ${run.unfinished})`,
          [ms(run.succeeded.p99), `${run.rate}/s run, ${src}`],
          [ms(base.succeeded.p99), `${base.rate}/s run, ${src}`],
          run.succeeded.p99 / base.succeeded.p99,
          '<=',
          3,
        );
        const ok = flat(run);
        const withUnfinished = line.replace(/: (MET|MISSED)$/, `: ${verdict(ok)}`);
        targets.push(
          run.rate === 50
            ? withUnfinished
            : withUnfinished.replace(/: (MET|MISSED)$/, ok ? ' (flat; reported)' : ' (not flat; reported)'),
        );
      }
    }
  }
  if (results.parts.includes('scale') && results.scale.length > 0) {
    out.push('');
    out.push('Controller scale (manual requests written first, then the controller started)');
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
          'controller peak V8 heap MiB',
          'live heap after drain MiB',
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
          n0(run.controllerPeakHeap / MIB),
          run.controllerLiveHeap !== undefined ? n0(run.controllerLiveHeap / MIB) : '-',
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
    for (const run of results.scale)
      if (run.apiCalls)
        out.push(
          `kube-apiserver calls during the ${n0(run.requests)}-request drain (apiserver_request_total, all clients): ${JSON.stringify(run.apiCalls)}`,
        );
    const small = results.scale[0];
    const big = results.scale[results.scale.length - 1];
    if (small && big && big !== small) {
      const factor = big.requests / small.requests;
      const bound = factor * SCALE_SLACK;
      if (big.drainSeconds !== undefined && small.drainSeconds !== undefined)
        targets.push(
          targetLine(
            `scale: drain of ${n0(big.requests)} requests over that of ${n0(small.requests)} (x${n0(factor)} requests)`,
            [`${n2(big.drainSeconds)} s`, `${n0(big.requests)}-request run, ${src}`],
            [`${n2(small.drainSeconds)} s`, `${n0(small.requests)}-request run, ${src}`],
            big.drainSeconds / small.drainSeconds,
            '<=',
            bound,
          ),
        );
      else targets.push(`- scale: a run timed out: MISSED`);
    }
    const peakRss = Math.max(...results.scale.map((run) => run.controllerPeakRss));
    targets.push(
      `- controller peak RSS (node ${chartNodeArgs('controller').join(' ')}, as the chart runs it${process.env.BENCH_CONTROLLER_NODE_FLAGS ? `, then ${process.env.BENCH_CONTROLLER_NODE_FLAGS}` : ''}): ${n0(peakRss / MIB)} MiB (largest scale run, ${src}), target <= 300 MiB: ${verdict(peakRss <= 300 * MIB)}`,
    );
  }
  const direct = results.direct;
  if (direct) {
    out.push('');
    out.push(
      `Real rollouts (Deployment of ${direct.replicas} replicas, kwok Pods), ${direct.rollouts} each way, alternating: kubectl set image -> kubectl rollout status returns, against dispatch -> DeployRequest Succeeded`,
    );
    out.push('');
    out.push(
      formatTable(
        ['way', 'rollouts', 'p50 ms', 'max ms', 'mean ms'],
        [
          [
            'kubectl set image + rollout status',
            String(direct.direct.count),
            n0(direct.direct.p50),
            n0(direct.direct.max),
            n0(direct.direct.mean),
          ],
          [
            'keyless-deploy dispatch -> Succeeded',
            String(direct.keyless.count),
            n0(direct.keyless.p50),
            n0(direct.keyless.max),
            n0(direct.keyless.mean),
          ],
        ],
      ),
    );
    targets.push(
      targetLine(
        'real rollout through keyless-deploy vs directly (medians)',
        [ms(direct.keyless.p50), `dispatch -> Succeeded, ${src}`],
        [ms(direct.direct.p50), `kubectl set image -> rollout status, ${src}`],
        direct.ratio,
        '<=',
        1.2,
      ),
    );
  }

  out.push('');
  out.push(`Targets (${src}, this run)`);
  out.push('');
  out.push(...targets);
  for (const failure of results.failures) out.push(`- ${failure}: MISSED`);
  return out.join('\n');
}
