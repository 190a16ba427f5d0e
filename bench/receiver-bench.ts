/**
 * Receiver verification throughput over real HTTP: accepted dispatches (fresh token each, creating
 * DeployRequests on the API server child) and refused tokens of five kinds, each compared with
 * plain `jose` `jwtVerify` RS256 throughput measured in the same run with the same 2048-bit key.
 */
import { importJWK, type CryptoKey } from 'jose';
import { BENCH_CLAIMS } from './fixtures.js';
import { startBenchCluster } from './bench-cluster.js';
import { runHttpLoad, type LoadRequest, type LoadResult } from './http-load.js';
import { measureJwtVerify } from './jwt-verify-baseline.js';

/** Settings of the receiver bench. */
export interface ReceiverBenchOptions {
  /** Concurrent HTTP clients (and verifications in flight for the yardstick). */
  concurrency: number;
  /** Accepted dispatches to send (each needs a freshly minted token). */
  accepted: number;
  /** How long each refused-token kind and the yardstick run. */
  durationMs: number;
}

/** One measured line: requests per second and the ratio to `jwtVerify`. */
export interface ThroughputRow {
  name: string;
  requests: number;
  perSecond: number;
  /** `jwtVerify` per second measured just before this row (same concurrency). */
  jwtVerifyPerSecond: number;
  ratio: number;
  /** Least ratio wanted; 0 for reference rows. */
  target: number;
  statuses: Record<string, number>;
}

/** Results of the receiver bench. */
export interface ReceiverBenchResult {
  concurrency: number;
  jwtVerify: { perSecond: number; sequentialPerSecond: number };
  rows: ThroughputRow[];
  /** RSA verifications the receiver did for all refused-token runs but bad-signature (expect 0). */
  rsaForCheapRefusals: number;
  receiverPeakRss: number;
}

const NAMESPACE = 'bench-receiver';
const WORKLOADS = 10;

/** Run the receiver bench. */
export async function runReceiverBench(options: ReceiverBenchOptions): Promise<ReceiverBenchResult> {
  const cluster = await startBenchCluster();
  try {
    const workloads = Array.from({ length: WORKLOADS }, (_, i) => `web-${i}`);
    await cluster.seed({ namespaces: [{ name: NAMESPACE, workloads }] });
    const receiver = await cluster.startReceiver();
    const { issuer } = cluster;
    const mint = (overrides: Record<string, string> = {}, expiresInSeconds?: number, audience?: string) =>
      issuer.mint(
        { ...BENCH_CLAIMS, ...overrides },
        { audience: audience ?? 'keyless-deploy-bench', ...(expiresInSeconds ? { expiresInSeconds } : {}) },
      );

    // Tokens first: RS256 signing costs far more than verifying and must stay out of the timings.
    const fresh: string[] = [];
    for (let i = 0; i < options.accepted + 200; i++) fresh.push(await mint());
    const valid = fresh.slice(0, 64);
    const other = await mint();
    const otherSignature = other.slice(other.lastIndexOf('.') + 1);
    const garbagePart = Buffer.from('x'.repeat(300)).toString('base64url');
    const refused: Record<string, string[]> = {
      garbage: [`${garbagePart}.${garbagePart}.${garbagePart}`],
      'unknown issuer': [await mint({ iss: 'https://token.actions.example.com' })],
      'wrong audience': [await mint({}, undefined, 'someone-else')],
      expired: [await mint({}, -3600)],
      // A valid header and payload with another token's signature: only the RSA check can refuse it.
      'bad signature': valid.map((token) => `${token.slice(0, token.lastIndexOf('.'))}.${otherSignature}`),
    };

    const key = (await importJWK(issuer.jwks.keys[0]!, 'RS256')) as CryptoKey;
    await measureJwtVerify(valid, key, options.concurrency, 500); // warm-up
    const sequential = await measureJwtVerify(valid, key, 1, options.durationMs);
    const yardstick = await measureJwtVerify(valid, key, options.concurrency, options.durationMs);
    // Other work on the machine varies: each row is compared with a yardstick run right before it.
    const adjacent = async (): Promise<number> =>
      (await measureJwtVerify(valid, key, options.concurrency, Math.min(2000, options.durationMs))).perSecond;

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
      next: () => LoadRequest | undefined,
      durationMs?: number,
      baseUrl = receiver.url,
    ): Promise<LoadResult> =>
      runHttpLoad({
        baseUrl,
        concurrency: options.concurrency,
        next,
        ...(durationMs ? { durationMs } : {}),
      });

    // Warm-up: 200 accepted dispatches (JIT, connections, the policy list path).
    let index = 0;
    await load(() => (index < 200 ? dispatch(fresh[index++]!) : undefined));
    const rows: ThroughputRow[] = [];
    const row = (name: string, result: LoadResult, target: number, jwtVerifyPerSecond: number): void => {
      rows.push({
        name,
        requests: result.requests,
        perSecond: result.perSecond,
        jwtVerifyPerSecond,
        ratio: result.perSecond / jwtVerifyPerSecond,
        target,
        statuses: result.statuses,
      });
    };
    let yard = await adjacent();
    row(
      'accepted',
      await load(() => (index < fresh.length ? dispatch(fresh[index++]!) : undefined)),
      0.4,
      yard,
    );

    const rsaBefore = (await receiver.request<{ rsaVerifications: number }>('stats')).rsaVerifications;
    let rsaForCheapRefusals = 0;
    for (const [name, tokens] of Object.entries(refused)) {
      let i = 0;
      yard = await adjacent();
      const result = await load(() => dispatch(tokens[i++ % tokens.length]!), options.durationMs);
      row(name, result, name === 'bad signature' ? 0.8 : 3, yard);
      if (name !== 'bad signature') {
        const now = (await receiver.request<{ rsaVerifications: number }>('stats')).rsaVerifications;
        rsaForCheapRefusals = now - rsaBefore;
      }
    }
    // Reference: the same load generator against a bare node:http server answering 401.
    const floor = await cluster.startChild('http-floor-process.js');
    yard = await adjacent();
    const garbage = refused.garbage![0]!;
    row(
      'bare node:http 401 (reference)',
      await load(() => dispatch(garbage), options.durationMs, floor.ready.url as string),
      0,
      yard,
    );
    const stats = await receiver.request<{ peakRss: number }>('stats');
    return {
      concurrency: options.concurrency,
      jwtVerify: { perSecond: yardstick.perSecond, sequentialPerSecond: sequential.perSecond },
      rows,
      rsaForCheapRefusals,
      receiverPeakRss: stats.peakRss,
    };
  } finally {
    await cluster.close();
  }
}
