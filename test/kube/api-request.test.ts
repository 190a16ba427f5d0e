/**
 * The adapter's request path against a plain local HTTP server: what it sends (credentials from
 * the kubeconfig, path, query, body, content type) and how every kind of answer comes back.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiRequest } from '../../src/kube/api-request.js';
import { KubeApiError } from '../../src/kube/kube-client.js';
import { loadKubeConfig } from '../../src/kube/load-kube-config.js';

interface Seen {
  method?: string;
  url?: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let answer: { status: number; body: string } = { status: 200, body: '{}' };
let seen: Seen = { headers: {}, body: '' };

function kubeconfig(port: number, user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}/", insecure-skip-tls-verify: true}}]`,
    `users: [{name: u, user: ${user}}]`,
    'contexts: [{name: x, context: {cluster: c, user: u}}]',
    'current-context: x',
    '',
  ].join('\n');
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const port = (): number => (server.address() as AddressInfo).port;

test("sends the kubeconfig's token and impersonation, the path, the defined query parameters and the JSON body", async () => {
  const send = createApiRequest(
    loadKubeConfig({ kubeconfigYaml: kubeconfig(port(), '{token: abc123, as: jane}') }),
  );
  answer = { status: 201, body: '{"metadata":{"name":"web"}}' };
  const result = await send<{ metadata: { name: string } }>(
    'PATCH',
    '/apis/apps/v1/namespaces/shop/deployments/web',
    {
      query: { fieldManager: 'keyless-deploy', force: true, dryRun: undefined },
      body: { spec: { replicas: 2 } },
      contentType: 'application/merge-patch+json',
    },
  );
  expect(result).toEqual({ metadata: { name: 'web' } });
  expect(seen.method).toBe('PATCH');
  expect(seen.url).toBe(
    '/apis/apps/v1/namespaces/shop/deployments/web?fieldManager=keyless-deploy&force=true',
  );
  expect(seen.headers.authorization).toBe('Bearer abc123');
  expect(seen.headers['impersonate-user']).toBe('jane');
  expect(seen.headers['content-type']).toBe('application/merge-patch+json');
  expect(seen.headers.accept).toBe('application/json');
  // The API server names the field manager of a write without fieldManager after it.
  expect(seen.headers['user-agent']).toBe('keyless-deploy');
  expect(JSON.parse(seen.body)).toEqual({ spec: { replicas: 2 } });
});

test('a GET sends no body and no content type', async () => {
  const send = createApiRequest(loadKubeConfig({ kubeconfigYaml: kubeconfig(port(), '{token: t}') }));
  answer = { status: 200, body: '{"items":[]}' };
  await send('GET', '/api/v1/namespaces');
  expect(seen).toMatchObject({ method: 'GET', url: '/api/v1/namespaces', body: '' });
  expect(seen.headers['content-type']).toBeUndefined();
});

test("an error answer is a KubeApiError with the Status's message, reason and code", async () => {
  const send = createApiRequest(loadKubeConfig({ kubeconfigYaml: kubeconfig(port(), '{token: t}') }));
  const status = {
    kind: 'Status',
    status: 'Failure',
    message: 'deployrequests.keyless.dev "a" already exists',
    reason: 'AlreadyExists',
    code: 409,
  };
  answer = { status: 409, body: JSON.stringify(status) };
  const error = await send('POST', '/apis/keyless.dev/v1alpha1/namespaces/shop/deployrequests', {
    body: {},
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(KubeApiError);
  expect(error).toMatchObject({ code: 409, reason: 'AlreadyExists', message: status.message, status });
});

test('an error answer that is not a Status still carries the HTTP code', async () => {
  const send = createApiRequest(loadKubeConfig({ kubeconfigYaml: kubeconfig(port(), '{token: t}') }));
  answer = { status: 502, body: '<html>bad gateway</html>' };
  const error = await send('GET', '/api/v1/namespaces/shop').catch((e: unknown) => e);
  expect(error).toMatchObject({ code: 502, reason: 'Unknown', message: 'HTTP 502', status: undefined });
});

test('a success answer that is not JSON is a KubeApiError, not a parse error', async () => {
  const send = createApiRequest(loadKubeConfig({ kubeconfigYaml: kubeconfig(port(), '{token: t}') }));
  answer = { status: 200, body: 'not json' };
  const error = await send('GET', '/api/v1/namespaces/shop').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(KubeApiError);
  expect(error).toMatchObject({
    code: 200,
    reason: 'InvalidResponse',
    message: 'the API server answered 200 GET /api/v1/namespaces/shop with a body that is not JSON',
  });
});

test('an API server that is not listening is a KubeApiError with code 0', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const send = createApiRequest(loadKubeConfig({ kubeconfigYaml: kubeconfig(deadPort, '{token: t}') }));
  const error = await send('GET', '/api').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(KubeApiError);
  expect(error).toMatchObject({ code: 0, reason: 'ConnectionFailed' });
  expect((error as Error).message).toMatch(/^cannot reach the Kubernetes API: /);
});
