/**
 * Receiver verification throughput: accepted dispatches per second (each creating a DeployRequest
 * on the embedded API server in another process) and rejected-token throughput per kind of bad
 * token, each as a ratio to plain `jose` `jwtVerify` RS256 throughput measured in the same run.
 * The receiver is the real binary (`keyless-deploy run --receiver`) in its own process.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { generateAttestationKeyPair } from '../src/attestation/index.js';
import { startLocalOidcIssuer } from '../src/playground/oidc-issuer.js';
import { closedLoop, postJson, type LoadResult } from './load.js';
import { API_SERVER, CLI, freePort, startChild } from './processes.js';
import { namespaceOf, type Seed } from './seed.js';

export interface ReceiverBenchResult {
  jwtVerifyPerSecond: number;
  accepted: LoadResult & { ratio: number };
  rejected: Record<string, LoadResult & { ratio: number }>;
  concurrency: number;
}

const AUDIENCE = 'https://bench.keyless.example';
const REPOSITORY_ID = '2000002';

/** Plain jwtVerify RS256 of one token in a loop for `ms`: verifications per second. */
async function jwtVerifyThroughput(
  token: string,
  jwks: ReturnType<typeof createLocalJWKSet>,
  issuer: string,
  ms: number,
): Promise<number> {
  let count = 0;
  const started = performance.now();
  while (performance.now() - started < ms) {
    await jwtVerify(token, jwks, { issuer, audience: AUDIENCE, algorithms: ['RS256'] });
    count += 1;
  }
  return count / ((performance.now() - started) / 1000);
}

export async function receiverBench(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<ReceiverBenchResult> {
  const accepted = options.quick ? 300 : 2000;
  const rejected = options.quick ? 2000 : 10_000;
  const concurrency = 8;
  const dir = mkdtempSync(join(tmpdir(), 'keyless-bench-receiver-'));
  const issuer = await startLocalOidcIssuer();
  const stranger = await startLocalOidcIssuer();
  const seed: Seed = { workloads: 1, requestsPerWorkload: 0, repositoryId: REPOSITORY_ID, stepMs: 0 };
  const api = startChild([API_SERVER, JSON.stringify(seed)]);
  const children = [api];
  try {
    const { kubeconfig } = (await api.next()) as { kubeconfig: string };
    writeFileSync(join(dir, 'kubeconfig'), kubeconfig);
    writeFileSync(join(dir, 'attestation.pem'), (await generateAttestationKeyPair()).privateKeyPem, {
      mode: 0o600,
    });
    const port = await freePort();
    const receiver = startChild([CLI, 'run', '--receiver'], {
      KUBECONFIG: join(dir, 'kubeconfig'),
      KEYLESS_LISTEN: `127.0.0.1:${port}`,
      KEYLESS_OIDC_ISSUERS: issuer.issuer,
      KEYLESS_ALLOW_INSECURE_ISSUER: 'true',
      KEYLESS_OIDC_AUDIENCE: AUDIENCE,
      KEYLESS_ATTESTATION_KEY_FILE: join(dir, 'attestation.pem'),
      KEYLESS_RATE_LIMIT_PER_MINUTE: '0',
      // Per-request info lines would measure the log pipe; warnings and errors still go out.
      KEYLESS_LOG_LEVEL: 'warn',
    });
    children.push(receiver);
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ready = await fetch(`${url}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ready) break;
      if (i > 200) throw new Error('the receiver did not become ready');
      await new Promise((r) => setTimeout(r, 50));
    }

    const claims = { repository_id: REPOSITORY_ID };
    options.log(`receiver: minting ${accepted} tokens`);
    const tokens = await Promise.all(
      Array.from({ length: accepted }, () => issuer.mint(claims, { audience: AUDIENCE })),
    );
    const one = tokens[0] as string;
    const jwks = createLocalJWKSet(issuer.jwks);
    // Warm up both sides (JIT, key cache) before measuring.
    await jwtVerifyThroughput(one, jwks, issuer.issuer, 300);
    const jwtVerifyPerSecond = await jwtVerifyThroughput(
      one,
      jwks,
      issuer.issuer,
      options.quick ? 1000 : 3000,
    );
    options.log(`receiver: jwtVerify RS256 ${Math.round(jwtVerifyPerSecond)}/s`);

    const post = (token: string, index: number): Promise<number> =>
      postJson(
        `${url}/v1/dispatch`,
        JSON.stringify({ namespace: namespaceOf(0), target: 'web', image: `ghcr.io/acme/web:3.0.${index}` }),
        { authorization: `Bearer ${token}` },
      ).then((answer) => answer.status);

    const warm = await issuer.mint(claims, { audience: AUDIENCE });
    await post(warm, 0);
    const acceptedResult = await closedLoop(
      tokens.map((token, index) => ({ token, index: index + 1 })),
      concurrency,
      ({ token, index }) => post(token, index),
    );
    options.log(
      `receiver: accepted ${Math.round(acceptedResult.perSecond)}/s ${JSON.stringify(acceptedResult.statuses)}`,
    );

    const valid = await issuer.mint(claims, { audience: AUDIENCE });
    const [head, payload, signature] = valid.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    const kinds: Record<string, string> = {
      garbage: 'x'.repeat(40),
      'unknown issuer': await stranger.mint(claims, { audience: AUDIENCE }),
      'wrong audience': await issuer.mint(claims, { audience: 'https://elsewhere.example' }),
      expired: await issuer.mint(claims, { audience: AUDIENCE, expiresInSeconds: -600 }),
      'bad signature': `${head}.${payload}.${flipped}`,
    };
    const rejectedResults: ReceiverBenchResult['rejected'] = {};
    for (const [kind, token] of Object.entries(kinds)) {
      const result = await closedLoop(
        Array.from({ length: rejected }, (_, i) => i),
        concurrency,
        (i) => post(token, i),
      );
      rejectedResults[kind] = { ...result, ratio: result.perSecond / jwtVerifyPerSecond };
      options.log(
        `receiver: ${kind} rejected ${Math.round(result.perSecond)}/s ${JSON.stringify(result.statuses)}`,
      );
    }
    return {
      jwtVerifyPerSecond,
      accepted: { ...acceptedResult, ratio: acceptedResult.perSecond / jwtVerifyPerSecond },
      rejected: rejectedResults,
      concurrency,
    };
  } finally {
    for (const child of children.reverse()) await child.stop();
    await issuer.close();
    await stranger.close();
  }
}
