/**
 * The shape of list and watch answers, as kube-apiserver sends them: items of a built-in kind's
 * list carry no `kind`/`apiVersion` (only the list has them), custom resources' items carry both,
 * and every watch event's object carries both, for built-in kinds as for custom resources.
 */
import { join } from 'node:path';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { PROJECT_ROOT, kubectlOk, writeKubeconfig } from '../support/kubectl.js';

let server: EmbeddedApiServer;
let config: string;

const MANIFESTS = `
apiVersion: v1
kind: Namespace
metadata: {name: shapes}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shapes}
data: {colour: blue}
---
apiVersion: keyless.dev/v1alpha1
kind: DeployPolicy
metadata: {name: web, namespace: shapes}
spec:
  targets: [{kind: Deployment, name: web, containers: [web]}]
  subjects: [{repositoryId: "100000001"}]
  images: {repositories: [ghcr.io/acme/web]}
`;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  config = writeKubeconfig(server.kubeconfig());
  await kubectlOk(config, ['apply', '-f', join(PROJECT_ROOT, 'crds')]);
  await kubectlOk(config, ['apply', '-f', '-'], { input: MANIFESTS });
});

afterAll(async () => {
  await server.close();
});

/** The first `count` newline-delimited events of a watch. */
async function watchEvents(path: string, count: number): Promise<Array<Record<string, unknown>>> {
  const response = await fetch(`${server.url}${path}`);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (text.split('\n').filter(Boolean).length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return text
    .split('\n')
    .filter(Boolean)
    .slice(0, count)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test('list items of a built-in kind carry no kind or apiVersion; the list does', async () => {
  const list = JSON.parse(await kubectlOk(config, ['get', '--raw', '/api/v1/namespaces/shapes/configmaps']));
  expect(list.kind).toBe('ConfigMapList');
  expect(list.apiVersion).toBe('v1');
  expect(list.items).toHaveLength(1);
  expect(list.items[0].metadata.name).toBe('settings');
  expect(list.items[0]).not.toHaveProperty('kind');
  expect(list.items[0]).not.toHaveProperty('apiVersion');
  // kubectl fills them in itself when it prints a list.
  const printed = JSON.parse(await kubectlOk(config, ['get', 'configmaps', '-n', 'shapes', '-o', 'json']));
  expect(printed.items[0].kind).toBe('ConfigMap');
  // A single object has them.
  const one = JSON.parse(
    await kubectlOk(config, ['get', '--raw', '/api/v1/namespaces/shapes/configmaps/settings']),
  );
  expect(one).toMatchObject({ kind: 'ConfigMap', apiVersion: 'v1' });
});

test('list items of a custom resource carry kind and apiVersion', async () => {
  const list = JSON.parse(
    await kubectlOk(config, ['get', '--raw', '/apis/keyless.dev/v1alpha1/namespaces/shapes/deploypolicies']),
  );
  expect(list.kind).toBe('DeployPolicyList');
  expect(list.items[0]).toMatchObject({ kind: 'DeployPolicy', apiVersion: 'keyless.dev/v1alpha1' });
});

test('watch events carry kind and apiVersion for built-in kinds and custom resources', async () => {
  const [configMap] = await watchEvents('/api/v1/namespaces/shapes/configmaps?watch=true', 1);
  expect(configMap?.type).toBe('ADDED');
  expect(configMap?.object).toMatchObject({
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { name: 'settings' },
  });
  const [policy] = await watchEvents(
    '/apis/keyless.dev/v1alpha1/namespaces/shapes/deploypolicies?watch=true',
    1,
  );
  expect(policy?.object).toMatchObject({ kind: 'DeployPolicy', apiVersion: 'keyless.dev/v1alpha1' });
});
