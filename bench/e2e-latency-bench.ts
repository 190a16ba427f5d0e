/**
 * End to end latency: from `POST /v1/dispatch` to the workload patched and to the DeployRequest
 * Succeeded, with an instant simulated rollout, at a steady rate over many workloads. The API server
 * and the real binary (`run --receiver --controller`) run in their own processes; this process sends
 * the dispatches on a fixed schedule (open loop) and watches the API server over HTTP.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ANNOTATIONS, type DeployRequest } from '../src/api/types.js';
import { generateAttestationKeyPair } from '../src/attestation/index.js';
import type { KubeObject, WatchHandle } from '../src/kube/kube-client.js';
import { createClientNodeKubeClient } from '../src/kube/client-node-kube-client.js';
import { loadKubeConfig } from '../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../src/kube/resource-types.js';
import { startLocalOidcIssuer } from '../src/playground/oidc-issuer.js';
import { postJson } from './load.js';
import { API_SERVER, CLI, freePort, startChild } from './processes.js';
import { namespaceOf, type Seed } from './seed.js';
import { percentile } from './stats.js';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface E2eBenchResult {
  rate: number;
  workloads: number;
  dispatches: number;
  outcomes: Record<string, number>;
  acceptedMs: Percentiles;
  patchedMs: Percentiles;
  succeededMs: Percentiles;
}

const AUDIENCE = 'https://bench.keyless.example';

function summary(values: number[]): Percentiles {
  return {
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    max: Math.max(...values),
  };
}

export async function e2eLatencyBench(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<E2eBenchResult> {
  const rate = 50;
  const workloads = 50;
  const seconds = options.quick ? 5 : 20;
  const dispatches = rate * seconds;
  const dir = mkdtempSync(join(tmpdir(), 'keyless-bench-e2e-'));
  const issuer = await startLocalOidcIssuer();
  const seed: Seed = { workloads, requestsPerWorkload: 0, repositoryId: '2000002', stepMs: 0 };
  const api = startChild([API_SERVER, JSON.stringify(seed)]);
  const children = [api];
  const watches: WatchHandle[] = [];
  try {
    const { kubeconfig } = (await api.next()) as { kubeconfig: string };
    writeFileSync(join(dir, 'kubeconfig'), kubeconfig);
    const keys = await generateAttestationKeyPair();
    writeFileSync(join(dir, 'attestation.pem'), keys.privateKeyPem, { mode: 0o600 });
    writeFileSync(join(dir, 'attestation.pub'), keys.publicKeyPem);
    const port = await freePort();
    const keyless = startChild([CLI, 'run', '--receiver', '--controller'], {
      KUBECONFIG: join(dir, 'kubeconfig'),
      KEYLESS_LISTEN: `127.0.0.1:${port}`,
      KEYLESS_OIDC_ISSUERS: issuer.issuer,
      KEYLESS_ALLOW_INSECURE_ISSUER: 'true',
      KEYLESS_OIDC_AUDIENCE: AUDIENCE,
      KEYLESS_ATTESTATION_KEY_FILE: join(dir, 'attestation.pem'),
      KEYLESS_ATTESTATION_PUBLIC_KEY_FILE: join(dir, 'attestation.pub'),
      KEYLESS_RATE_LIMIT_PER_MINUTE: '0',
      KEYLESS_LEADER_ELECTION: 'false',
      KEYLESS_METRICS_LISTEN: '127.0.0.1:0',
      KEYLESS_CONCURRENCY: '8',
      KEYLESS_LOG_LEVEL: 'warn',
    });
    children.push(keyless);
    const url = `http://127.0.0.1:${port}`;
    for (
      let i = 0;
      !(await fetch(`${url}/readyz`)
        .then((r) => r.ok)
        .catch(() => false));
      i++
    ) {
      if (i > 200) throw new Error('keyless-deploy did not become ready');
      await new Promise((r) => setTimeout(r, 50));
    }

    // Observe over HTTP, as kubectl would.
    const kube = createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: kubeconfig }));
    const patchedAt = new Map<string, number>();
    const finishedAt = new Map<string, { at: number; phase: string }>();
    const requests = await kube.list(RESOURCE_TYPES.deployRequests, undefined);
    watches.push(
      await kube.watch<DeployRequest & KubeObject>(
        RESOURCE_TYPES.deployRequests,
        undefined,
        { resourceVersion: requests.resourceVersion },
        ({ object }) => {
          const key = `${object.metadata.namespace}/${object.metadata.name}`;
          const phase = object.status?.phase;
          if (
            (phase === 'Succeeded' || phase === 'Superseded' || phase === 'Failed' || phase === 'Denied') &&
            !finishedAt.has(key)
          )
            finishedAt.set(key, { at: Date.now(), phase });
        },
        () => undefined,
      ),
    );
    const deployments = await kube.list(RESOURCE_TYPES.deployments, undefined);
    watches.push(
      await kube.watch<KubeObject>(
        RESOURCE_TYPES.deployments,
        undefined,
        { resourceVersion: deployments.resourceVersion },
        ({ object }) => {
          const key = object.metadata.annotations?.[ANNOTATIONS.deployRequest];
          if (key && !patchedAt.has(key)) patchedAt.set(key, Date.now());
        },
        () => undefined,
      ),
    );

    options.log(`e2e: minting ${dispatches} tokens`);
    const tokens = await Promise.all(
      Array.from({ length: dispatches }, () =>
        issuer.mint({ repository_id: '2000002' }, { audience: AUDIENCE }),
      ),
    );
    const sentAt = new Map<string, number>();
    const accepted: number[] = [];
    const start = Date.now() + 200;
    options.log(`e2e: ${dispatches} dispatches at ${rate}/s over ${workloads} workloads`);
    await Promise.all(
      tokens.map(async (token, k) => {
        const due = start + (k * 1000) / rate;
        await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
        const sent = Date.now();
        const response = await postJson(
          `${url}/v1/dispatch`,
          JSON.stringify({
            namespace: namespaceOf(k % workloads),
            target: 'web',
            image: `ghcr.io/acme/web:4.0.${k}`,
          }),
          { authorization: `Bearer ${token}` },
        );
        if (response.status !== 202) throw new Error(`dispatch ${k}: ${response.status} ${response.text}`);
        const body = JSON.parse(response.text) as { namespace: string; name: string };
        accepted.push(Date.now() - sent);
        sentAt.set(`${body.namespace}/${body.name}`, sent);
      }),
    );
    const deadline = Date.now() + 60_000;
    while (finishedAt.size < dispatches && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const outcomes: Record<string, number> = {};
    const patched: number[] = [];
    const succeeded: number[] = [];
    for (const [key, sent] of sentAt) {
      const finished = finishedAt.get(key);
      outcomes[finished?.phase ?? 'unfinished'] = (outcomes[finished?.phase ?? 'unfinished'] ?? 0) + 1;
      if (finished?.phase === 'Succeeded') succeeded.push(finished.at - sent);
      const at = patchedAt.get(key);
      if (at !== undefined) patched.push(at - sent);
    }
    return {
      rate,
      workloads,
      dispatches,
      outcomes,
      acceptedMs: summary(accepted),
      patchedMs: summary(patched),
      succeededMs: summary(succeeded),
    };
  } finally {
    for (const watch of watches) watch.stop();
    for (const child of children.reverse()) await child.stop();
    await issuer.close();
  }
}
