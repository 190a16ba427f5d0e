/**
 * Finding 3 of issue 13: unauthenticated memory exhaustion. The receiver runs as the product runs
 * it (`keyless-deploy run --receiver` in a child process, the chart's heap limit in NODE_OPTIONS),
 * against the embedded API server and the local OIDC issuer, so its RSS is a real process's. Slow
 * senders flood `POST /v1/github/webhook` (the route that reads bodies before it can authenticate
 * them) while a genuine dispatch is made; the figures are printed for docs/security.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { createKubeClient } from '../../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { installCrds } from '../../src/playground/playground.js';
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../src/playground/oidc-issuer.js';
import { compiledProduct } from '../support/compiled-product.js';
import { PROJECT_ROOT, writeKubeconfig } from '../support/kubectl.js';
import { waitUntil } from '../support/wait-until.js';
import { goodBody, seedPolicy, webPolicy } from './support/harness.js';

/** The chart's receiver settings (charts/keyless-deploy/values.yaml). */
const CHART_HEAP_MIB = 256;
const CHART_MEMORY_LIMIT_MIB = 384;
const AUDIENCE = 'keyless-deploy-flood';
const SLOW_SENDERS = 300;

let server: EmbeddedApiServer;
let issuer: LocalOidcIssuer;
let child: ChildProcess;
let output = '';
/** The receiver process: its pid and what it logged. */
const receiver = { pid: () => child.pid!, stdout: () => output };
let url: URL;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  const kube = createKubeClient({ kubeconfigYaml: server.kubeconfig() });
  await installCrds(kube);
  await kube.create(RESOURCE_TYPES.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shop' },
  });
  await seedPolicy(kube, webPolicy('shop'));
  issuer = await startLocalOidcIssuer();
  const dir = mkdtempSync(join(tmpdir(), 'keyless-flood-'));
  const keyFile = join(dir, 'attestation-key.pem');
  writeFileSync(
    keyFile,
    generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    { mode: 0o600 },
  );
  const secretFile = join(dir, 'webhook-secret');
  writeFileSync(secretFile, 'a-webhook-secret-of-some-length', { mode: 0o600 });
  // The compiled binary, as the image runs it (`node dist/cli/bin.js run --receiver`).
  child = spawn(process.execPath, [compiledProduct(), 'run', '--receiver', '--listen', '127.0.0.1:0'], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      NODE_OPTIONS: `--max-old-space-size=${CHART_HEAP_MIB}`,
      KUBECONFIG: writeKubeconfig(server.kubeconfig()),
      KEYLESS_OIDC_ISSUERS: issuer.issuer,
      KEYLESS_ALLOW_INSECURE_ISSUER: 'true',
      KEYLESS_OIDC_AUDIENCE: AUDIENCE,
      KEYLESS_ATTESTATION_KEY_FILE: keyFile,
      KEYLESS_GITHUB_WEBHOOK_SECRET_FILE: secretFile,
      KEYLESS_RATE_LIMIT_PER_MINUTE: '0',
    },
  });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitUntil('the receiver listens', () => /"url":"(http[^"]+)"/.test(receiver.stdout()), {
    timeoutMs: 60_000,
    describe: () => output,
  });
  url = new URL(/"url":"(http[^"]+)"/.exec(receiver.stdout())![1]!);
}, 90_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  await issuer?.close();
  await server?.close();
});

/** Resident set size of the receiver process, in MiB (Buffers included, unlike the V8 heap). */
function rssMiB(): number {
  const status = readFileSync(`/proc/${receiver.pid()}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function dispatch(): Promise<{ status: number; ms: number }> {
  const token = await issuer.mint({}, { audience: AUDIENCE });
  const started = performance.now();
  const response = await fetch(`${url.origin}/v1/dispatch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(goodBody()),
  });
  await response.text();
  return { status: response.status, ms: performance.now() - started };
}

interface Sender {
  socket: Socket;
  /** Status of the answer, once one came. */
  status(): number | undefined;
  /** Whether it has sent what it pushes fast (fat: 960 KiB; slowloris: its headers). */
  pushed(): boolean;
  closed: Promise<void>;
}

/**
 * A slow webhook sender. `fat`: a chunked body pushed as fast as the receiver reads it, up to
 * 960 KiB (just under the former 1 MiB limit), then a byte a second; otherwise a 60 000-byte body
 * trickled a byte every 500 ms (slowloris). The signature is junk: nothing can check it before
 * the body is complete.
 */
function slowSender(fat: boolean): Sender {
  const socket = connect(Number(url.port), url.hostname);
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  let pushed = false;
  socket.on('close', () => clearInterval(timer));
  socket.once('connect', () => {
    socket.write(
      `POST /v1/github/webhook HTTP/1.1\r\nHost: receiver\r\nContent-Type: application/json\r\n` +
        `X-GitHub-Event: deployment\r\nX-GitHub-Delivery: flood\r\nX-Hub-Signature-256: sha256=${'0'.repeat(64)}\r\n` +
        (fat ? 'Transfer-Encoding: chunked\r\n\r\n' : 'Content-Length: 60000\r\n\r\n{"pad":"'),
    );
    if (fat) {
      const chunk = Buffer.concat([Buffer.from('4000\r\n'), Buffer.alloc(0x4000, 0x20), Buffer.from('\r\n')]);
      let sent = 0;
      const push = () => {
        while (sent < 60 && !socket.destroyed) {
          sent += 1;
          if (!socket.write(chunk)) return void socket.once('drain', push);
        }
        pushed = true;
        timer = setInterval(() => socket.write('1\r\n \r\n'), 1000);
      };
      push();
    } else {
      pushed = true;
      timer = setInterval(() => socket.write('x'), 500);
    }
  });
  return {
    socket,
    status: () =>
      /^HTTP\/1\.1 (\d{3})/.exec(answer) ? Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)![1]) : undefined,
    pushed: () => pushed,
    closed,
  };
}

test(`${SLOW_SENDERS} slow webhook senders leave the receiver's RSS bounded, and a genuine dispatch succeeds meanwhile`, async () => {
  // Warm up (JIT, key cache, the API client) so that "before" is the steady state.
  for (let i = 0; i < 3; i += 1) expect((await dispatch()).status).toBe(202);
  const before = rssMiB();

  // Slowloris senders first (they hold the read slots until the body timeout), then fat ones.
  const senders = [
    ...Array.from({ length: SLOW_SENDERS / 3 }, () => slowSender(false)),
    ...Array.from({ length: (SLOW_SENDERS * 2) / 3 }, () => slowSender(true)),
  ];
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 100);
  try {
    await waitUntil(
      'every sender connected and sending',
      () => senders.every((s) => s.socket.bytesWritten > 100),
      {
        timeoutMs: 20_000,
      },
    );
    const genuine = await dispatch();
    // The flood at its height: every sender has pushed what it could, or was turned away or cut.
    const outcome = (s: Sender): number | 'cut' | undefined =>
      s.status() ?? (s.socket.destroyed ? 'cut' : undefined);
    await waitUntil('every sender pushed, was answered or cut', () =>
      senders.every((s) => s.pushed() || outcome(s) !== undefined),
    );
    const during = Math.max(peak, rssMiB());
    const held = senders.filter((s) => outcome(s) === undefined).length;
    console.log(
      `slow webhook senders: ${SLOW_SENDERS} (${SLOW_SENDERS / 3} slowloris, ${(SLOW_SENDERS * 2) / 3} fat), ` +
        `${held} still connected at the height; receiver RSS before ${before.toFixed(1)} MiB, ` +
        `peak during ${during.toFixed(1)} MiB; genuine dispatch ${genuine.status} in ${genuine.ms.toFixed(0)} ms`,
    );
    expect(during - before).toBeLessThan(48);
    expect(during).toBeLessThan(CHART_MEMORY_LIMIT_MIB);
    // Then every sender ends: answered (a server that closes with unread bytes in its buffer
    // resets the connection, and a sender still writing then loses the answer: cut).
    await waitUntil(
      'every slow sender answered or cut',
      () => senders.every((s) => outcome(s) !== undefined),
      {
        timeoutMs: 40_000,
        describe: () => senders.filter((s) => outcome(s) === undefined).length,
      },
    );
    const statuses = new Map<number | 'cut', number>();
    for (const s of senders) statuses.set(outcome(s)!, (statuses.get(outcome(s)!) ?? 0) + 1);
    console.log(`slow webhook senders' answers: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(genuine.status).toBe(202);
    // No sender got past the read: 503 past the bound, 413 at the webhook limit, 408 too slow.
    expect([...statuses.keys()].every((status) => [408, 413, 503, 'cut'].includes(status))).toBe(true);
    expect((statuses.get(503) ?? 0) + (statuses.get('cut') ?? 0)).toBeGreaterThanOrEqual(SLOW_SENDERS - 32);
  } finally {
    clearInterval(sampler);
    for (const s of senders) s.socket.destroy();
  }
  await Promise.all(senders.map((s) => s.closed));
  // Clients that went away, were cut or turned away are not the receiver's errors.
  expect(receiver.stdout()).not.toContain('unexpected error');
}, 120_000);

test('a client that aborts mid-body is logged at info, not as an unexpected error with a stack', async () => {
  const socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    `POST /v1/github/webhook HTTP/1.1\r\nHost: receiver\r\nContent-Type: application/json\r\n` +
      `X-GitHub-Event: ping\r\nX-GitHub-Delivery: abort\r\nX-Hub-Signature-256: sha256=${'1'.repeat(64)}\r\n` +
      'Content-Length: 5000\r\n\r\n{"zen":"',
  );
  await waitUntil('the receiver started reading', () => socket.bytesWritten > 100);
  socket.destroy();
  const line = () =>
    receiver
      .stdout()
      .split('\n')
      .find((l) => l.includes('the client closed the connection before the body was complete'));
  await waitUntil('the abort is logged', () => line() !== undefined, {
    describe: () => receiver.stdout().slice(-2000),
  });
  expect(JSON.parse(line()!)).toMatchObject({ level: 'info', msg: 'request refused', status: 400 });
  expect(line()).not.toContain('stack');
  expect(receiver.stdout()).not.toContain('unexpected error');
});
