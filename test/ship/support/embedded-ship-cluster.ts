/**
 * The embedded API server as the container test's cluster, for machines without the real control
 * plane (no Go to build it).
 *
 * In-cluster configuration cannot talk to the embedded server directly: client-node builds
 * `https://HOST:PORT` from KUBERNETES_SERVICE_HOST/PORT (plain HTTP only for ports 80, 8080 and
 * 8001, and then refuses it: "HTTP protocol is not allowed when skipTLSVerify is not set or false"),
 * and the embedded server serves HTTP only, without authentication. So this puts a TLS front before
 * it that does what kube-apiserver's authentication does for ServiceAccount tokens: it accepts only
 * bearer tokens it issued to a ServiceAccount that exists, and records who made each request. What
 * it does NOT do is authorize: the chart's RBAC is not enforced here (`enforcesRbac: false`); it
 * is checked against the code by test/chart/rbac-matches-code.test.ts, and enforced when this test
 * runs against the real control plane (the default).
 */
import { randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { startEmbeddedApiServer } from '../../../src/apiserver/embedded-api-server.js';
import { HOST_LOOPBACK_FROM_CONTAINER } from './container-network.js';
import { SERVICE_ACCOUNTS } from './core-types.js';
import type { ShipCluster } from './ship-cluster.js';
import { createTestCa } from '../../support/test-pki.js';

const SERVICE_HOST = 'kubernetes.default.svc';

function unauthorized(): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'Unauthorized',
    reason: 'Unauthorized',
    code: 401,
  });
}

export async function startEmbeddedShipCluster(workDir: string): Promise<ShipCluster> {
  const server = await startEmbeddedApiServer({ workloads: { stepMs: 20 } });
  const ca = createTestCa(workDir);
  const serving = ca.issueServing(
    'apiserver',
    [SERVICE_HOST, 'localhost'],
    ['127.0.0.1', HOST_LOOPBACK_FROM_CONTAINER],
  );
  const backend = new URL(server.url);
  const tokens = new Map<string, { user: string; expiresAt: number }>();
  const users = new Set<string>();

  const front = createServer({ key: serving.keyPem, cert: serving.certPem }, (req, res) => {
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
    const identity = token ? tokens.get(token) : undefined;
    if (!identity || identity.expiresAt < Date.now()) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(unauthorized());
      return;
    }
    users.add(identity.user);
    const headers: IncomingHttpHeaders = { ...req.headers, host: backend.host };
    delete headers.authorization;
    const upstream = request(
      { host: backend.hostname, port: backend.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`front: ${error.message}`);
    });
    // A watch ends when its client goes away.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  const port = (front.address() as AddressInfo).port;
  const kube = server.kubeClient();

  return {
    description: `embedded API server ${server.url} behind a token-authenticating TLS front on 127.0.0.1:${port} (no RBAC enforcement)`,
    enforcesRbac: false,
    port,
    serviceHost: SERVICE_HOST,
    caPem: ca.certPem,
    adminKubeconfig: server.kubeconfig(),
    async issueServiceAccountToken(namespace, name, expirationSeconds) {
      // Like TokenRequest: only for a ServiceAccount that exists.
      if (!(await kube.get(SERVICE_ACCOUNTS, namespace, name)))
        throw new Error(`serviceaccounts "${name}" not found in ${namespace}`);
      const token = randomBytes(32).toString('base64url');
      tokens.set(token, {
        user: `system:serviceaccount:${namespace}:${name}`,
        expiresAt: Date.now() + expirationSeconds * 1000,
      });
      return token;
    },
    authenticatedUsers: (namespace) =>
      new Set([...users].filter((user) => user.startsWith(`system:serviceaccount:${namespace}:`))),
    async close() {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await server.close();
    },
  };
}
