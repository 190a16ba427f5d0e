/**
 * The processes a bench scenario runs: an API server (embedded child or a real control plane, see
 * bench-api-server.ts) with its seeding child, the local OIDC issuer in its own child, and on demand
 * a receiver child and a controller child. The attestation key pair is written to a temp dir.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAttestationKeyPair } from '../src/attestation/attestation-keys.js';
import type { SeedRequest } from './api-server-process.js';
import { chartNodeArgs } from './chart-node-settings.js';
import { startBenchApiServer, type ApiServerMode, type BenchApiServer } from './bench-api-server.js';
import { forkChild, type BenchChild } from './child-process.js';
import type { MintSpec } from './issuer-process.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Audience of the bench's tokens. */
export const BENCH_AUDIENCE = 'keyless-deploy-bench';

/** The issuer child, as the bench uses it. */
export interface BenchIssuer {
  /** Issuer URL (`iss` of its tokens). */
  issuer: string;
  /** Mint tokens (all before measuring: RS256 signing costs far more than verifying). */
  mint(specs: MintSpec[]): Promise<string[]>;
  /** Take the issuer down (every discovery/JWKS fetch answered 503) or bring it back. */
  setAvailable(available: boolean): Promise<void>;
  /** Discovery and JWKS requests it served. */
  requestCount(): Promise<number>;
}

/** A bench "cluster". */
export interface BenchCluster {
  api: BenchApiServer;
  /** The seeding child (alias of `api.child`). */
  apiServer: BenchChild;
  issuer: BenchIssuer;
  /** Scratch directory of this scenario (removed on close). */
  dir: string;
  seed(request: SeedRequest): Promise<void>;
  startReceiver(): Promise<BenchChild & { url: string }>;
  startController(): Promise<BenchChild>;
  /** Fork another bench entry (file name in bench/), stopped with the cluster. */
  startChild(entry: string, args?: string[]): Promise<BenchChild>;
  /** Stop every child, the API server and the issuer, remove the temp files. */
  close(): Promise<void>;
}

/** Start the API server and the issuer; write an attestation key pair to a temp dir. */
export async function startBenchCluster(mode: ApiServerMode = 'embedded'): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'keyless-bench-'));
  const pair = await generateAttestationKeyPair();
  const keyFile = join(dir, 'attestation-key.pem');
  const publicKeyFile = join(dir, 'attestation-public-key.pem');
  writeFileSync(keyFile, pair.privateKeyPem, { mode: 0o600 });
  writeFileSync(publicKeyFile, pair.publicKeyPem);
  const api = await startBenchApiServer(mode, join(dir, 'api-server'));
  const issuerChild = await forkChild(join(HERE, 'issuer-process.js'), [BENCH_AUDIENCE]);
  const children: BenchChild[] = [issuerChild];
  const issuer: BenchIssuer = {
    issuer: issuerChild.ready.url as string,
    async mint(specs) {
      const tokens: string[] = [];
      for (let i = 0; i < specs.length; i += 500)
        tokens.push(...(await issuerChild.request<string[]>('mint', specs.slice(i, i + 500))));
      return tokens;
    },
    setAvailable: async (available) => void (await issuerChild.request('setAvailable', available)),
    requestCount: () => issuerChild.request<number>('requestCount'),
  };
  return {
    api,
    apiServer: api.child,
    issuer,
    dir,
    async seed(request) {
      await api.child.request('seed', request);
    },
    async startReceiver() {
      // The heap limit and node flags the Helm chart gives the receiver.
      const child = await forkChild(
        join(HERE, 'receiver-process.js'),
        [api.kubeconfigPath, issuer.issuer, BENCH_AUDIENCE, keyFile],
        chartNodeArgs('receiver'),
      );
      children.push(child);
      return Object.assign(child, { url: child.ready.url as string });
    },
    async startController() {
      // The heap limit and node flags the Helm chart gives the controller, as in a cluster.
      // --expose-gc only lets `stats` measure the live heap after the peaks were read;
      // BENCH_CONTROLLER_NODE_FLAGS adds Node/V8 flags after them, to compare settings.
      const child = await forkChild(
        join(HERE, 'controller-process.js'),
        [api.kubeconfigPath, publicKeyFile],
        [
          ...chartNodeArgs('controller'),
          '--expose-gc',
          ...(process.env.BENCH_CONTROLLER_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
        ],
      );
      children.push(child);
      return child;
    },
    async startChild(entry, args = []) {
      const child = await forkChild(join(HERE, entry), args);
      children.push(child);
      return child;
    },
    async close() {
      for (const child of children.reverse()) await child.stop();
      await api.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
