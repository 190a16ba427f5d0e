/**
 * The installed binary in a child process, as a user meets it: the Node version check, usage
 * errors, a receiver that cannot be reached or is busy, and operator commands without a kubeconfig.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli-process.js';

const home = mkdtempSync(join(tmpdir(), 'keyless-home-'));
const env = { HOME: home };

/** A local HTTP server answering with `handler`; records the requests it saw. */
async function fakeReceiver(
  handler: (req: IncomingMessage, res: ServerResponse, count: number) => void,
): Promise<{ url: string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
    req.resume();
    req.on('end', () => handler(req, res, requests.length));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const dispatchArgs = (url: string, extra: string[] = []): string[] => [
  'dispatch',
  '--url',
  url,
  '--token',
  'header.payload.signature',
  '-n',
  'demo',
  '--target',
  'web',
  '--image',
  'ghcr.io/acme/web:1.1.0',
  ...extra,
];

describe('keyless-deploy binary', () => {
  test('on a Node older than 24 it says what is needed, before loading anything else (exit 1)', async () => {
    const pretend20 =
      "data:text/javascript,Object.defineProperty(process,'versions',{value:{...process.versions,node:'20.11.1'}})";
    const result = await runCli(['--help'], env, 30_000, ['--import', pretend20]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('keyless-deploy: needs Node.js 24 or newer');
    expect(result.stderr).toContain('is Node.js 20.11.1');
    expect(result.stderr).toContain('npm run -s cli --');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.stdout).toBe('');
    // The same binary on this Node runs.
    const ok = await runCli(['--version'], env);
    expect([ok.code, ok.stdout]).toEqual([0, expect.stringMatching(/^keyless-deploy \d+\.\d+\.\d+\n$/)]);
  });

  test.each([
    [
      ['dispatch', '--bogus'],
      'unknown option --bogus',
      'Usage: keyless-deploy dispatch --url URL',
      'dispatch',
    ],
    [['status', '-x', 'name'], 'unknown option -x', 'Usage: keyless-deploy status NAME', 'status'],
    [['token', '--state-dir'], 'option --state-dir needs a value', 'Usage: keyless-deploy token', 'token'],
    [
      ['dispatch', '--wait=yes'],
      'option --wait takes no value',
      'Usage: keyless-deploy dispatch',
      'dispatch',
    ],
  ])(
    '%j: a plain message, the usage line and the --help hint (exit 2)',
    async (args, message, usage, command) => {
      const result = await runCli(args, env);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`keyless-deploy: ${message}\n`);
      expect(result.stderr).toContain(usage);
      expect(result.stderr).toContain(`Run 'keyless-deploy ${command} --help' for details.`);
      expect(result.stderr).not.toContain('To specify a positional argument');
    },
  );

  test('dispatch --token needs no --audience (it is only for the token the CLI requests in Actions)', async () => {
    const receiver = await fakeReceiver((_req, res) =>
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"name":"web-abc","phase":"Pending"}'),
    );
    try {
      const result = await runCli(dispatchArgs(receiver.url), env);
      expect([result.code, result.stderr]).toEqual([0, '']);
      expect(result.stdout).toBe('deployrequest demo/web-abc accepted: Pending\n');
      expect(receiver.requests).toEqual(['POST /v1/dispatch Bearer header.payload.signature']);
      // Without a token outside Actions, the message says how to give one (and nothing is sent).
      const none = await runCli(
        dispatchArgs(receiver.url).filter((a, i, all) => a !== '--token' && all[i - 1] !== '--token'),
        env,
      );
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('no token: outside GitHub Actions pass --token');
      expect(receiver.requests).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });

  test('an unreachable receiver is named with the cause: refused, TLS, timeout (exit 1)', async () => {
    const closed = await fakeReceiver(() => undefined);
    const closedUrl = closed.url;
    await closed.close();
    const refused = await runCli(dispatchArgs(closedUrl), env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      `cannot reach the receiver at ${closedUrl}/v1/dispatch: connection refused`,
    );
    expect(refused.stderr).not.toContain('fetch failed');

    // https:// to a server that speaks plain HTTP: the TLS handshake fails.
    const plain = await fakeReceiver((_req, res) => res.end('{}'));
    const silent = await fakeReceiver(() => undefined); // accepts, never answers
    try {
      const tlsUrl = plain.url.replace('http:', 'https:');
      const tls = await runCli(dispatchArgs(tlsUrl), env);
      expect(tls.code).toBe(1);
      expect(tls.stderr).toContain(`cannot reach the receiver at ${tlsUrl}/v1/dispatch: TLS failed`);

      const slow = await runCli(dispatchArgs(silent.url, ['--timeout', '2']), env);
      expect(slow.code).toBe(1);
      expect(slow.stderr).toContain(`cannot reach the receiver at ${silent.url}/v1/dispatch: timed out`);
    } finally {
      await plain.close();
      await silent.close();
    }
  });

  test('429 and 503 are retried after Retry-After, with the same token, until --timeout', async () => {
    const busyTwice = await fakeReceiver((_req, res, count) => {
      if (count === 1)
        res
          .writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' })
          .end('{"error":"rate_limited","message":"too many dispatches"}');
      else if (count === 2)
        res
          .writeHead(503, { 'retry-after': '1', 'content-type': 'application/json' })
          .end('{"error":"unavailable","message":"cannot read DeployPolicies"}');
      else
        res
          .writeHead(202, { 'content-type': 'application/json' })
          .end('{"name":"web-abc","phase":"Pending"}');
    });
    const alwaysBusy = await fakeReceiver((_req, res) =>
      res
        .writeHead(503, { 'retry-after': '1', 'content-type': 'application/json' })
        .end('{"error":"unavailable","message":"cannot create the DeployRequest"}'),
    );
    try {
      const retried = await runCli(dispatchArgs(busyTwice.url), env);
      expect(retried.code).toBe(0);
      expect(retried.stderr).toContain('429 rate_limited: too many dispatches; retrying in 1s (attempt 2)');
      expect(retried.stderr).toContain(
        '503 unavailable: cannot read DeployPolicies; retrying in 1s (attempt 3)',
      );
      expect(retried.stdout).toContain('deployrequest demo/web-abc accepted');
      expect(new Set(busyTwice.requests)).toEqual(
        new Set(['POST /v1/dispatch Bearer header.payload.signature']),
      );
      expect(busyTwice.requests).toHaveLength(3);

      const gaveUp = await runCli(dispatchArgs(alwaysBusy.url, ['--timeout', '2']), env);
      expect(gaveUp.code).toBe(1);
      expect(gaveUp.stderr).toMatch(
        /503 unavailable from \S+\/v1\/dispatch after \d attempts; not retrying past --timeout 2s/,
      );
      expect(gaveUp.stderr).toContain('dispatch failed (503): cannot create the DeployRequest');
      expect(alwaysBusy.requests.length).toBeLessThanOrEqual(3);
    } finally {
      await busyTwice.close();
      await alwaysBusy.close();
    }
  });

  test('status without a kubeconfig says none was found and where it looked (exit 2)', async () => {
    const result = await runCli(['status', 'web-abc', '-n', 'demo'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('keyless-deploy: no kubeconfig found');
    expect(result.stderr).toContain('KUBECONFIG (not set)');
    expect(result.stderr).toContain(`${join(home, '.kube', 'config')} (does not exist)`);
    expect(result.stderr).toContain('pass --kubeconfig FILE or set KUBECONFIG');
    expect(result.stderr).not.toMatch(/localhost:8080|TLS|ECONNREFUSED/);

    const missing = await runCli(
      ['status', 'web-abc', '-n', 'demo', '--kubeconfig', join(home, 'nope')],
      env,
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`kubeconfig ${join(home, 'nope')} (--kubeconfig) does not exist`);

    const viaEnv = await runCli(['status', 'web-abc', '-n', 'demo'], {
      ...env,
      KUBECONFIG: join(home, 'gone'),
    });
    expect(viaEnv.code).toBe(2);
    expect(viaEnv.stderr).toContain(`KUBECONFIG names ${join(home, 'gone')}, which does not exist`);
  });
});
