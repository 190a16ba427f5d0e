/**
 * End to end over real HTTP: a playground-issuer token -> POST /v1/dispatch -> a DeployRequest in
 * the API server (reached through the client-node adapter), visible with the real kubectl with its
 * claims and a verifying attestation. The embedded API server in `npm test`, a real kube-apiserver
 * under `npm run test:cluster`. (API server faults: receiver-api-faults.test.ts.)
 */
import type { DeployRequest } from '../../src/api/types.js';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { verifyAttestation } from '../../src/attestation/index.js';
import { createKubeClient } from '../../src/kube/load-kube-config.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { installCrds } from '../../src/playground/playground.js';
import { kubectlOk, writeKubeconfig } from '../support/kubectl.js';
import { freshNamespace, realTestCluster } from '../support/test-cluster.js';
import { goodBody, seedPolicy, startHarness, webPolicy, type Harness } from './support/harness.js';

const real = realTestCluster();
let server: EmbeddedApiServer | undefined;
let kube: KubeClient;
let h: Harness;
let kubeconfig: string;

beforeAll(async () => {
  if (real) {
    kube = real.kube;
    kubeconfig = writeKubeconfig(real.kubeconfig);
    await installCrds(kube);
    await freshNamespace(kube, 'shop');
  } else {
    server = await startEmbeddedApiServer({ workloads: false });
    kube = createKubeClient({ kubeconfigYaml: server.kubeconfig() });
    kubeconfig = writeKubeconfig(server.kubeconfig());
    await installCrds(kube);
    await kube.create(RESOURCE_TYPES.namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop' },
    });
  }
  await seedPolicy(kube, webPolicy('shop'));
  h = await startHarness(kube);
});
afterAll(async () => {
  await h?.close();
  if (real) await kube.delete(RESOURCE_TYPES.namespaces, undefined, 'shop');
  await server?.close();
});

test('issuer token -> POST /v1/dispatch -> DeployRequest visible with kubectl, with claims and attestation', async () => {
  const token = await h.token({ environment: 'production' });
  const { status, body } = await h.dispatch(goodBody({ reason: 'e2e' }), token);
  expect(status).toBe(202);
  const name = body.name as string;

  const listed = await kubectlOk(kubeconfig, ['get', 'deployrequests', '-n', 'shop', '-o', 'name']);
  expect(listed).toContain(`deployrequest.keyless.dev/${name}`);
  const object = JSON.parse(
    await kubectlOk(kubeconfig, ['get', 'deployrequest', name, '-n', 'shop', '-o', 'json']),
  ) as DeployRequest;
  expect(object.spec.source).toMatchObject({
    type: 'github-oidc',
    github: {
      issuer: h.issuer.issuer,
      repository: 'acme/web',
      repositoryId: '2000002',
      repositoryOwnerId: '1000001',
      environment: 'production',
    },
    attestation: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/),
  });
  expect(JSON.stringify(object)).not.toContain(token);
  // What the controller will do: verify the attestation of the object as the API server stored it.
  expect(await verifyAttestation(object, h.publicKeys)).toMatchObject({ ok: true });

  // The same token again: the existing request, still one object.
  const replay = await h.dispatch(goodBody({ reason: 'e2e' }), token);
  expect(replay).toMatchObject({ status: 200, body: { name, replayed: true } });
  const all = await kubectlOk(kubeconfig, ['get', 'deployrequests', '-n', 'shop', '-o', 'name']);
  expect(
    all
      .trim()
      .split('\n')
      .filter((line) => line.includes(name)),
  ).toHaveLength(1);
});

test('GET /v1/requests answers from the API server, 404 for another repository', async () => {
  const { body } = await h.dispatch(goodBody(), await h.token());
  const get = async (token: string) =>
    fetch(`${h.receiver.url}${body.statusUrl as string}`, { headers: { authorization: `Bearer ${token}` } });
  const mine = await get(await h.token());
  expect(mine.status).toBe(200);
  expect(await mine.json()).toMatchObject({ name: body.name, phase: 'Pending' });
  expect((await get(await h.token({ repository_id: '31337' }))).status).toBe(404);
});
