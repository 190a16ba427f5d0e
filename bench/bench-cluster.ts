/**
 * The processes a bench scenario runs: an embedded API server child, and on demand a receiver
 * child and a controller child; the local OIDC issuer and the attestation key pair live in the
 * bench process (the issuer only serves discovery/JWKS once; minting happens before measuring).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateAttestationKeyPair } from '../src/attestation/attestation-keys.js';
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../src/playground/oidc-issuer.js';
import type { SeedRequest } from './api-server-process.js';
import { forkChild, type BenchChild } from './child-process.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Audience of the bench's tokens. */
export const BENCH_AUDIENCE = 'keyless-deploy-bench';

/** A bench "cluster". */
export interface BenchCluster {
  apiServer: BenchChild;
  apiServerUrl: string;
  issuer: LocalOidcIssuer;
  seed(request: SeedRequest): Promise<void>;
  startReceiver(): Promise<BenchChild & { url: string }>;
  startController(): Promise<BenchChild>;
  /** Fork another bench entry (file name in bench/), stopped with the cluster. */
  startChild(entry: string): Promise<BenchChild>;
  /** Stop every child and the issuer, remove the key files. */
  close(): Promise<void>;
}

/** Start the API server child and the issuer; write an attestation key pair to a temp dir. */
export async function startBenchCluster(): Promise<BenchCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'keyless-bench-'));
  const pair = await generateAttestationKeyPair();
  const keyFile = join(dir, 'attestation-key.pem');
  const publicKeyFile = join(dir, 'attestation-public-key.pem');
  writeFileSync(keyFile, pair.privateKeyPem, { mode: 0o600 });
  writeFileSync(publicKeyFile, pair.publicKeyPem);
  const apiServer = await forkChild(join(HERE, 'api-server-process.js'));
  const apiServerUrl = apiServer.ready.url as string;
  const issuer = await startLocalOidcIssuer({ defaultAudience: BENCH_AUDIENCE });
  const children: BenchChild[] = [apiServer];
  return {
    apiServer,
    apiServerUrl,
    issuer,
    async seed(request) {
      await apiServer.request('seed', request);
    },
    async startReceiver() {
      // The heap limit the Helm chart gives the receiver (receiver.heapMiB).
      const child = await forkChild(
        join(HERE, 'receiver-process.js'),
        [apiServerUrl, issuer.issuer, BENCH_AUDIENCE, keyFile],
        ['--max-old-space-size=256'],
      );
      children.push(child);
      return Object.assign(child, { url: child.ready.url as string });
    },
    async startController() {
      // The heap limit the Helm chart gives the controller (controller.heapMiB), as in a cluster.
      const child = await forkChild(
        join(HERE, 'controller-process.js'),
        [apiServerUrl, publicKeyFile],
        ['--max-old-space-size=256'],
      );
      children.push(child);
      return child;
    },
    async startChild(entry) {
      const child = await forkChild(join(HERE, entry));
      children.push(child);
      return child;
    },
    async close() {
      for (const child of children.reverse()) await child.stop();
      await issuer.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
