/**
 * List pagination of the embedded API server, over HTTP and through kubectl's `--chunk-size`:
 * `limit` pages in key order with a `continue` token and `remainingItemCount`, and a bad token, or
 * a token together with a resourceVersion, is refused with 400 and a clear message. Also: a watch
 * resuming from before the server's start is 410 Gone, as on a real server.
 */
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { kubectlOk, writeKubeconfig } from '../support/kubectl.js';

let server: EmbeddedApiServer;
const CMS = '/api/v1/namespaces/default/configmaps';

interface List {
  metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number };
  items: Array<{ metadata: { name: string } }>;
}

async function call(path: string): Promise<{ code: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`);
  return { code: response.status, body: (await response.json()) as Record<string, unknown> };
}

const names = (list: List): string[] => list.items.map((item) => item.metadata.name);

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  // Created out of order: pages follow the key order, not creation order.
  for (const name of ['c3', 'c1', 'c5', 'c2', 'c4']) {
    const response = await fetch(`${server.url}${CMS}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ metadata: { name, labels: { odd: String(Number(name[1]) % 2 === 1) } } }),
    });
    expect(response.status).toBe(201);
  }
});

afterAll(async () => {
  await server.close();
});

describe('list pagination', () => {
  test('limit and continue page through every object once, in key order', async () => {
    const first = (await call(`${CMS}?limit=2`)).body as unknown as List;
    expect(names(first)).toEqual(['c1', 'c2']);
    expect(first.metadata.remainingItemCount).toBe(3);
    const second = (await call(`${CMS}?limit=2&continue=${first.metadata.continue}`)).body as unknown as List;
    expect(names(second)).toEqual(['c3', 'c4']);
    expect(second.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    const last = (await call(`${CMS}?limit=2&continue=${second.metadata.continue}`)).body as unknown as List;
    expect(names(last)).toEqual(['c5']);
    expect(last.metadata.continue).toBeUndefined();
    expect(last.metadata.remainingItemCount).toBeUndefined();
    // limit 0 (or none): everything.
    expect(names((await call(`${CMS}?limit=0`)).body as unknown as List)).toHaveLength(5);
  });

  test('with a selector the page has no remainingItemCount', async () => {
    const page = (await call(`${CMS}?limit=1&labelSelector=odd%3Dtrue`)).body as unknown as List;
    expect(names(page)).toEqual(['c1']);
    expect(page.metadata.continue).toEqual(expect.any(String));
    expect(page.metadata.remainingItemCount).toBeUndefined();
  });

  test('a malformed token, or one with a resourceVersion, is 400 with the reason', async () => {
    const bad = await call(`${CMS}?limit=1&continue=not-a-token`);
    expect(bad.code).toBe(400);
    expect(bad.body).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    expect(String(bad.body.message)).toContain('continue key is not valid');
    const token = ((await call(`${CMS}?limit=1`)).body as unknown as List).metadata.continue ?? '';
    const withVersion = await call(`${CMS}?continue=${token}&resourceVersion=0`);
    expect(withVersion.code).toBe(400);
    expect(String(withVersion.body.message)).toContain(
      'specifying resource version is not allowed when using continue',
    );
  });

  test('kubectl get --chunk-size lists everything in chunks', async () => {
    const config = writeKubeconfig(server.kubeconfig());
    const output = await kubectlOk(config, [
      'get',
      'configmaps',
      '-n',
      'default',
      '--chunk-size=2',
      '-o',
      'name',
    ]);
    expect(output.trim().split('\n')).toEqual(
      ['c1', 'c2', 'c3', 'c4', 'c5'].map((name) => `configmap/${name}`),
    );
  });

  test('a watch from a resourceVersion older than the server is 410 Gone', async () => {
    const response = await fetch(`${server.url}${CMS}?watch=1&resourceVersion=1&timeoutSeconds=1`);
    const [event] = (await response.text()).trim().split('\n');
    expect(JSON.parse(event ?? '{}')).toMatchObject({
      type: 'ERROR',
      object: { code: 410, reason: 'Expired' },
    });
  });
});
