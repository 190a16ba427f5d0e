import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { main } from '../../src/cli/main.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { installCrds } from '../../src/playground/playground.js';
import { testIo } from '../support/cli-io.js';
import { writeKubeconfig } from '../support/kubectl.js';

let server: EmbeddedApiServer;
let kubeconfig: string;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  kubeconfig = writeKubeconfig(server.kubeconfig());
  const kube = server.kubeClient();
  await installCrds(kube);
  await kube.create(RESOURCE_TYPES.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shop' },
  });
  await kube.create(RESOURCE_TYPES.deployRequests, {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployRequest',
    metadata: { name: 'gated', namespace: 'shop' },
    spec: {
      target: { kind: 'Deployment', name: 'web' },
      images: [{ container: 'web', image: 'ghcr.io/acme/web:2' }],
      source: { type: 'kubernetes' },
    },
  });
});

afterAll(async () => {
  await server.close();
});

describe('keyless-deploy approve / reject', () => {
  test('approve sets the approved-by annotation; reject sets rejected-by', async () => {
    const io = testIo();
    expect(
      await main(['approve', 'gated', '-n', 'shop', '--by', 'alice', '--kubeconfig', kubeconfig], io),
    ).toBe(0);
    expect(io.out()).toContain('deployrequest shop/gated approved by alice');
    const rejected = testIo();
    expect(
      await main(['reject', 'gated', '-n', 'shop', '--by', 'bob', '--kubeconfig', kubeconfig], rejected),
    ).toBe(0);
    const object = await server.kubeClient().get(RESOURCE_TYPES.deployRequests, 'shop', 'gated');
    expect(object?.metadata.annotations).toEqual({
      'keyless.dev/approved-by': 'alice',
      'keyless.dev/rejected-by': 'bob',
    });
  });

  test('a missing request is exit 1; bad usage is exit 2 and changes nothing', async () => {
    const missing = testIo();
    expect(
      await main(['approve', 'nope', '-n', 'shop', '--by', 'alice', '--kubeconfig', kubeconfig], missing),
    ).toBe(1);
    expect(missing.err()).toContain('deployrequest shop/nope not found');
    for (const argv of [
      ['approve'],
      ['approve', 'gated'],
      ['approve', 'gated', '-n', 'shop', '--by', 'a b'],
      ['reject', 'gated', '-n', 'shop', '--by', 'x'.repeat(300)],
    ]) {
      const io = testIo({});
      expect(await main([...argv, '--kubeconfig', kubeconfig], io)).toBe(2);
    }
    const object = await server.kubeClient().get(RESOURCE_TYPES.deployRequests, 'shop', 'gated');
    expect(object?.metadata.annotations?.['keyless.dev/rejected-by']).toBe('bob');
  });

  test('run --controller without the attestation public key stops start-up naming it', async () => {
    const io = testIo({});
    expect(await main(['run', '--controller', '--kubeconfig', kubeconfig], io)).toBe(2);
    expect(io.err()).toContain('KEYLESS_ATTESTATION_PUBLIC_KEY_FILE');
    const bad = testIo({ KEYLESS_ATTESTATION_PUBLIC_KEY_FILE: '/x', KEYLESS_CONCURRENCY: 'lots' });
    expect(await main(['run', '--controller', '--kubeconfig', kubeconfig], bad)).toBe(2);
    expect(bad.err()).toContain('--concurrency / KEYLESS_CONCURRENCY');
  });

  test('status shows the request and exits with a code for its phase', async () => {
    const io = testIo();
    expect(await main(['status', 'gated', '-n', 'shop', '--kubeconfig', kubeconfig], io)).toBe(7);
    expect(io.out()).toContain('shop/gated: Pending');
    expect(io.out()).toContain('images:   web=ghcr.io/acme/web:2');
    const json = testIo();
    expect(
      await main(['status', 'gated', '-n', 'shop', '-o', 'json', '--kubeconfig', kubeconfig], json),
    ).toBe(7);
    expect(JSON.parse(json.out()).spec.target).toEqual({ kind: 'Deployment', name: 'web' });
    expect(await main(['status', 'nope', '-n', 'shop', '--kubeconfig', kubeconfig], testIo())).toBe(1);
    expect(await main(['status', 'gated', '--kubeconfig', kubeconfig], testIo())).toBe(2);
  });
});
