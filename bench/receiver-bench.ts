/**
 * Receiver throughput over real HTTP, each figure against a floor measured in the same run with the
 * same load generator and concurrency: accepted dispatches (fresh token each, creating
 * DeployRequests) against a bare `create DeployRequest` loop on the same API server; refused tokens
 * of five kinds against a bare `node:http` server answering 401. With a peer (real control plane
 * only), the same load against Flux notification-controller's `generic-oidc` Receiver on the same
 * issuer and API server, then both with the issuer down.
 */
import { startBenchCluster, BENCH_AUDIENCE } from './bench-cluster.js';
import { apiCallsBetween, type ApiServerMode } from './bench-api-server.js';
import type { CreateFloorRun } from './create-floor-process.js';
import { BENCH_CLAIMS } from './fixtures.js';
import { startFluxPeer, type FluxPeerInfo } from './flux-peer.js';
import { runHttpLoad, type LoadRequest, type LoadResult } from './http-load.js';
import type { MintSpec } from './issuer-process.js';
import { summarizeLatency, type LatencySummary } from './latency-summary.js';
import { startCpuMeter, type RowCpu } from './process-cpu.js';

/** Settings of the receiver bench. */
export interface ReceiverBenchOptions {
  /** Concurrent HTTP clients (and writes in flight for the create floor). */
  concurrency: number;
  /** Accepted dispatches to send (each needs a freshly minted token). */
  accepted: number;
  /** How long each refused-token kind runs. */
  durationMs: number;
  /** Valid tokens sent to each receiver while the issuer is down (peer runs). */
  outageTokens?: number;
}

/** One measured line. */
export interface ThroughputRow {
  name: string;
  requests: number;
  perSecond: number;
  latency: LatencySummary;
  statuses: Record<string, number>;
  /** The floor this row is compared with: its name and rate, measured in this run. */
  floor?: { name: string; perSecond: number };
  /** perSecond / floor; undefined for floor rows. */
  ratio?: number;
  /** Least ratio wanted. */
  target?: number;
  /** API calls kube-apiserver served per request of this row, by verb and resource (real control plane). */
  apiCallsPerRequest?: Record<string, number>;
  /** CPU of the processes doing this row's work (undefined for peer rows). */
  cpu?: RowCpu;
}

/** The same token kinds against the peer. */
export interface PeerRow extends ThroughputRow {
  /** keyless-deploy's rate for the kind (from `rows`), over the peer's. */
  versusPeer: number;
  /** Least `versusPeer` wanted; undefined: reported only. */
  peerTarget?: number;
}

/** Results of the receiver bench. */
export interface ReceiverBenchResult {
  apiServer: string;
  concurrency: number;
  rows: ThroughputRow[];
  /** RSA verifications the receiver did for the four cheap refusal kinds (expect 0). */
  rsaForCheapRefusals: number;
  receiverPeakRss: number;
  peer?: {
    info: FluxPeerInfo;
    rows: PeerRow[];
    /** Discovery/JWKS requests the issuer served per token the peer handled, by kind. */
    issuerFetchesPerRequest: Record<string, number>;
    peerPeakRss: number;
    /** Valid fresh tokens sent to each while the issuer answered 503, and how many each accepted. */
    outage: {
      sent: number;
      keyless: number;
      peer: number;
      keylessStatuses: Record<string, number>;
      peerStatuses: Record<string, number>;
    };
  };
}

const NAMESPACE = 'bench-receiver';

/** Calls per request, two decimals. */
function perRequest(calls: Record<string, number>, requests: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(calls).map(([key, count]) => [
      key,
      Math.round((count / Math.max(1, requests)) * 100) / 100,
    ]),
  );
}
const WORKLOADS = 10;
const CHEAP = ['garbage', 'unknown issuer', 'wrong audience', 'expired'];

/** Run the receiver bench on `mode`'s API server; `peer` adds Flux (cluster mode only). */
export async function runReceiverBench(
  options: ReceiverBenchOptions,
  mode: ApiServerMode,
  peer = false,
): Promise<ReceiverBenchResult> {
  const cluster = await startBenchCluster(mode);
  try {
    const workloads = Array.from({ length: WORKLOADS }, (_, i) => `web-${i}`);
    await cluster.seed({ namespaces: [{ name: NAMESPACE, workloads }] });
    const receiver = await cluster.startReceiver();
    const { issuer } = cluster;
    const spec = (
      claims: Record<string, string> = {},
      expiresInSeconds?: number,
      audience = BENCH_AUDIENCE,
    ): MintSpec => ({
      claims: { ...BENCH_CLAIMS, ...claims },
      options: { audience, ...(expiresInSeconds ? { expiresInSeconds } : {}) },
    });
    const fresh = (count: number): Promise<string[]> =>
      issuer.mint(Array.from({ length: count }, () => spec({}, 900)));

    // Tokens first: RS256 signing costs far more than verifying and must stay out of the timings.
    const ours = await fresh(options.accepted + 200);
    const [other, unknownIssuer, wrongAudience, expired] = await issuer.mint([
      spec({}, 900),
      spec({ iss: 'https://token.actions.example.com' }, 900),
      spec({}, 900, 'someone-else'),
      spec({}, -3600),
    ]);
    const valid = ours.slice(0, 64);
    const otherSignature = other!.slice(other!.lastIndexOf('.') + 1);
    const garbagePart = Buffer.from('x'.repeat(300)).toString('base64url');
    const refused: Record<string, string[]> = {
      garbage: [`${garbagePart}.${garbagePart}.${garbagePart}`],
      'unknown issuer': [unknownIssuer!],
      'wrong audience': [wrongAudience!],
      expired: [expired!],
      // A valid header and payload with another token's signature: only the RSA check can refuse it.
      'bad signature': valid.map((token) => `${token.slice(0, token.lastIndexOf('.'))}.${otherSignature}`),
    };

    let workload = 0;
    const dispatch = (token: string): LoadRequest => ({
      method: 'POST',
      path: '/v1/dispatch',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        namespace: NAMESPACE,
        target: { kind: 'Deployment', name: workloads[workload++ % WORKLOADS] },
        container: 'web',
        image: `ghcr.io/acme/web:2.0.${workload}`,
      }),
    });
    const load = (
      baseUrl: string,
      next: () => LoadRequest | undefined,
      durationMs?: number,
    ): Promise<LoadResult> =>
      runHttpLoad({ baseUrl, concurrency: options.concurrency, next, ...(durationMs ? { durationMs } : {}) });
    const measured = (name: string, result: LoadResult): ThroughputRow => ({
      name,
      requests: result.requests,
      perSecond: result.perSecond,
      latency: summarizeLatency(result.latencies),
      statuses: result.statuses,
    });

    // Warm-up: 200 accepted dispatches (JIT, connections, the policy list path).
    let index = 0;
    await load(receiver.url, () => (index < 200 ? dispatch(ours[index++]!) : undefined));
    const rows: ThroughputRow[] = [];

    // The API server's write floor, right before the accepted run, same count and concurrency:
    // first a minimal DeployRequest (the floor of runs 1 to 14, reported), then the object the
    // receiver writes (copied from one it created in the warm-up), which the target compares with.
    const createFloor = await cluster.startChild('create-floor-process.js', [cluster.api.kubeconfigPath]);
    const apiServer = cluster.api.pids();
    const createLoop = async (like: CreateFloorRun['like'], name: string): Promise<number> => {
      const floorRun: CreateFloorRun = {
        namespace: NAMESPACE,
        workloads,
        count: options.accepted,
        concurrency: options.concurrency,
        like,
      };
      const meter = startCpuMeter({ 'create loop': [createFloor.pid], 'API server': apiServer });
      const creates = await createFloor.request<{ requests: number; perSecond: number }>('run', floorRun);
      rows.push({
        name,
        requests: creates.requests,
        perSecond: creates.perSecond,
        latency: summarizeLatency([]),
        statuses: { '201': creates.requests },
        cpu: meter.stop(creates.requests),
      });
      return creates.perSecond;
    };
    await createLoop('minimal', 'floor: bare create, minimal DeployRequest (reported)');
    const createRate = await createLoop('receiver', "floor: bare create, the receiver's DeployRequest");
    const createFloorName = `bare create DeployRequest loop writing the receiver's object, ${cluster.api.describe}`;
    const callsBefore = await cluster.api.apiCalls();
    const receiverGroups = { receiver: [receiver.pid], 'load generator': [process.pid] };
    const acceptedCpu = startCpuMeter({ ...receiverGroups, 'API server': apiServer });
    const accepted = measured(
      'accepted',
      await load(receiver.url, () => (index < ours.length ? dispatch(ours[index++]!) : undefined)),
    );
    const acceptedCpuRow = acceptedCpu.stop(accepted.requests);
    const calls = apiCallsBetween(callsBefore, await cluster.api.apiCalls());
    rows.push({
      ...accepted,
      ...(calls ? { apiCallsPerRequest: perRequest(calls, accepted.requests) } : {}),
      cpu: acceptedCpuRow,
      floor: { name: createFloorName, perSecond: createRate },
      ratio: accepted.perSecond / createRate,
      target: 0.7,
    });

    // The HTTP floor: a bare node:http server answering 401, measured right before each refusal
    // kind (other work on this machine varies), 2 s each.
    const httpFloor = await cluster.startChild('http-floor-process.js');
    const floorUrl = httpFloor.ready.url as string;
    const garbage = refused.garbage![0]!;
    const floorRate = async (): Promise<number> =>
      (await load(floorUrl, () => dispatch(garbage), Math.min(2000, options.durationMs))).perSecond;
    const httpFloorCpu = startCpuMeter({
      'node:http server': [httpFloor.pid],
      'load generator': [process.pid],
    });
    const floorRow = measured(
      'floor: bare node:http 401',
      await load(floorUrl, () => dispatch(garbage), options.durationMs),
    );
    rows.push({ ...floorRow, cpu: httpFloorCpu.stop(floorRow.requests) });

    const rsaBefore = (await receiver.request<{ rsaVerifications: number }>('stats')).rsaVerifications;
    let rsaForCheapRefusals = 0;
    for (const [name, tokens] of Object.entries(refused)) {
      let i = 0;
      const floor = await floorRate();
      const rowCpu = startCpuMeter(receiverGroups);
      const row = measured(
        name,
        await load(receiver.url, () => dispatch(tokens[i++ % tokens.length]!), options.durationMs),
      );
      rows.push({
        ...row,
        cpu: rowCpu.stop(row.requests),
        floor: { name: 'bare node:http 401 measured just before', perSecond: floor },
        ratio: row.perSecond / floor,
        target: name === 'bad signature' ? 0.5 : 0.7,
      });
      if (CHEAP.includes(name)) {
        const now = (await receiver.request<{ rsaVerifications: number }>('stats')).rsaVerifications;
        rsaForCheapRefusals = now - rsaBefore;
      }
    }
    const receiverStats = await receiver.request<{ peakRss: number }>('stats');
    const result: ReceiverBenchResult = {
      apiServer: cluster.api.describe,
      concurrency: options.concurrency,
      rows,
      rsaForCheapRefusals,
      receiverPeakRss: receiverStats.peakRss,
    };
    if (!peer) return result;
    if (!cluster.api.controlPlane)
      throw new Error('the peer runs against the real control plane only (--cluster)');

    // The peer: same issuer, same API server, same load generator and concurrency.
    const flux = await startFluxPeer({
      controlPlane: cluster.api.controlPlane,
      namespace: NAMESPACE,
      issuerUrl: issuer.issuer,
      audience: BENCH_AUDIENCE,
      stateDir: cluster.dir,
    });
    try {
      const hook = new URL(flux.url);
      const toPeer = (token: string): LoadRequest => ({
        method: 'POST',
        path: hook.pathname,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      const peerTokens = await fresh(options.accepted + 50);
      let p = 0;
      await load(hook.origin, () => (p < 50 ? toPeer(peerTokens[p++]!) : undefined)); // warm-up
      const peerRows: PeerRow[] = [];
      const issuerFetchesPerRequest: Record<string, number> = {};
      const kinds: Array<[string, () => LoadRequest | undefined, number | undefined]> = [
        [
          'accepted',
          () => (p < peerTokens.length ? toPeer(peerTokens[p++]!) : undefined),
          options.durationMs,
        ],
        ...Object.entries(refused).map(([name, tokens]): [string, () => LoadRequest, number] => {
          let i = 0;
          return [name, () => toPeer(tokens[i++ % tokens.length]!), options.durationMs];
        }),
      ];
      for (const [name, next, durationMs] of kinds) {
        const fetchesBefore = await issuer.requestCount();
        const peerCallsBefore = await cluster.api.apiCalls();
        const measuredRow = measured(name, await load(hook.origin, next, durationMs));
        const peerCalls = apiCallsBetween(peerCallsBefore, await cluster.api.apiCalls());
        const row = {
          ...measuredRow,
          ...(peerCalls ? { apiCallsPerRequest: perRequest(peerCalls, measuredRow.requests) } : {}),
        };
        issuerFetchesPerRequest[name] =
          ((await issuer.requestCount()) - fetchesBefore) / Math.max(1, row.requests);
        const ourRate = rows.find((r) => r.name === name)!.perSecond;
        peerRows.push({
          ...row,
          versusPeer: ourRate / row.perSecond,
          ...(['accepted', 'wrong audience', 'expired', 'bad signature'].includes(name)
            ? { peerTarget: 3 }
            : {}),
        });
      }

      // The issuer down: every discovery/JWKS fetch answers 503. Fresh valid tokens to each.
      const sent = options.outageTokens ?? 100;
      const [forUs, forPeer] = [await fresh(sent), await fresh(sent)];
      await issuer.setAvailable(false);
      let u = 0;
      let f = 0;
      const ourOutage = await load(receiver.url, () => (u < sent ? dispatch(forUs[u++]!) : undefined));
      const peerOutage = await load(hook.origin, () => (f < sent ? toPeer(forPeer[f++]!) : undefined));
      await issuer.setAvailable(true);
      const ok = (statuses: Record<string, number>): number =>
        Object.entries(statuses).reduce(
          (sum, [status, count]) => sum + (status.startsWith('2') ? count : 0),
          0,
        );
      result.peer = {
        info: flux.info,
        rows: peerRows,
        issuerFetchesPerRequest,
        peerPeakRss: flux.peakRss(),
        outage: {
          sent,
          keyless: ok(ourOutage.statuses),
          peer: ok(peerOutage.statuses),
          keylessStatuses: ourOutage.statuses,
          peerStatuses: peerOutage.statuses,
        },
      };
      return result;
    } finally {
      await flux.stop();
    }
  } finally {
    await cluster.close();
  }
}
