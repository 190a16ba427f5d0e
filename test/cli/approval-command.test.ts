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
  // Approving and rejecting as an authenticated user: test/e2e/approvals.test.ts (the binary, as bob and alice).
  test('bad usage is exit 2 and changes nothing', async () => {
    const before = await server.kubeClient().get(RESOURCE_TYPES.deployRequests, 'shop', 'gated');
    for (const [argv, message] of [
      [['approve'], 'the DeployRequest NAME is required'],
      [['approve', 'gated'], '--namespace is required'],
      [['reject', 'gated', 'extra', '-n', 'shop'], 'unexpected argument extra'],
      [['approve', 'gated', '-n', 'shop', '--by', 'alice'], '--by is gone'],
    ] as const) {
      const io = testIo({});
      expect(await main([...argv, '--kubeconfig', kubeconfig], io)).toBe(2);
      expect(io.err()).toContain(message);
    }
    const after = await server.kubeClient().get(RESOURCE_TYPES.deployRequests, 'shop', 'gated');
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
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
