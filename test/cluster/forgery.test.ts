/**
 * Issue 13, findings 2 and 8, against a real kube-apiserver (`npm run test:cluster`): what a user
 * who may create, delete and even write the status of DeployRequests in a namespace can make the
 * controller do. The user `mallory` has her own client certificate (or, on an existing cluster,
 * is impersonated) and a Role granted for the test; she works with the real kubectl.
 * - A saved attested request created again after deletion does not deploy, and says why.
 * - A status she forges (RollingBack to a chosen image, on a request waiting for approval) does
 *   not deploy: the controller sees in managedFields that it did not write it, clears it and
 *   authorises the request again; under the controller's own manager name the rollback finds no
 *   record of images on the workload and restores nothing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject, ResourceType } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { startHarness, type Harness, type Request } from '../e2e/harness.js';
import { kubectl } from '../support/kubectl.js';
import { realTestCluster } from '../support/test-cluster.js';
import { waitUntil } from '../support/wait-until.js';

const ROLES: ResourceType = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  plural: 'roles',
  kind: 'Role',
  namespaced: true,
};
const ROLE_BINDINGS: ResourceType = { ...ROLES, plural: 'rolebindings', kind: 'RoleBinding' };
const VULNERABLE = 'ghcr.io/acme/web:0.1.0-vulnerable';

let h: Harness;
let mallory: string;

beforeAll(async () => {
  const cluster = realTestCluster();
  if (!cluster) throw new Error('test/cluster needs a real kube-apiserver: npm run test:cluster');
  h = await startHarness();
  await h.controller();
  mallory = join(mkdtempSync(join(tmpdir(), 'keyless-mallory-')), 'kubeconfig');
  writeFileSync(mallory, await cluster.userKubeconfig('mallory'), { mode: 0o600 });
}, 180_000);

afterAll(async () => {
  await h?.close();
});

/** Let mallory create, read and delete DeployRequests in `namespace`, and write their status. */
async function grantMallory(namespace: string): Promise<void> {
  await h.kube.create(ROLES, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'mallory', namespace },
    rules: [
      {
        apiGroups: ['keyless.dev'],
        resources: ['deployrequests'],
        verbs: ['get', 'list', 'watch', 'create', 'delete'],
      },
      { apiGroups: ['keyless.dev'], resources: ['deployrequests/status'], verbs: ['get', 'patch', 'update'] },
    ],
  });
  await h.kube.create(ROLE_BINDINGS, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'mallory', namespace },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'mallory' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory' }],
  });
  // RBAC is in force once mallory may read requests there.
  await waitUntil(
    'mallory may list DeployRequests',
    async () => (await kubectl(mallory, ['get', 'dr', '-n', namespace])).code === 0,
  );
}

/** Run kubectl as mallory; fail with its output unless it succeeds. */
async function asMallory(args: string[], input?: string): Promise<string> {
  const result = await kubectl(mallory, args, { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** Warning Events about `name` with `reason`. */
async function events(namespace: string, name: string, reason: string): Promise<string[]> {
  const list = await h.kube.list<KubeObject & { reason?: string; message?: string; note?: string }>(
    RESOURCE_TYPES.events,
    namespace,
  );
  return list.items
    .filter(
      (event) =>
        (event.involvedObject as { name?: string } | undefined)?.name === name && event.reason === reason,
    )
    .map((event) => event.message ?? event.note ?? '');
}

const condition = (request: Request, type: string) =>
  request.status?.conditions?.find((candidate) => candidate.type === type);

test('a saved attested request created again after deletion does not deploy, and says why', async () => {
  const namespace = 'forgery-replay';
  await h.scenario(namespace, {}, { replicas: 1 });
  await grantMallory(namespace);
  const first = await h.dispatch(namespace, { target: 'web', image: 'ghcr.io/acme/web:2.0.0' });
  expect(first.status).toBe(202);
  const name = String(first.body.name);
  await h.waitFor(namespace, name, ['Succeeded']);
  // Mallory saves the attested request, as anyone who may read it can.
  const saved = JSON.parse(await asMallory(['get', 'dr', name, '-n', namespace, '-o', 'json'])) as Request;
  const second = await h.dispatch(namespace, { target: 'web', image: 'ghcr.io/acme/web:3.0.0' });
  await h.waitFor(namespace, String(second.body.name), ['Succeeded']);
  expect(await h.images(namespace)).toEqual(['ghcr.io/acme/web:3.0.0']);

  // Later (the history collector, or mallory) deletes it; mallory creates the saved copy again.
  await asMallory(['delete', 'dr', name, '-n', namespace, '--wait=true']);
  const copy = {
    apiVersion: saved.apiVersion,
    kind: saved.kind,
    metadata: { name, namespace, labels: saved.metadata.labels },
    spec: saved.spec,
  };
  await asMallory(['create', '-f', '-'], JSON.stringify(copy));
  const replayed = await h.waitFor(namespace, name, ['Denied', 'Deploying', 'Succeeded']);
  expect(replayed.status?.phase).toBe('Denied');
  expect(condition(replayed, 'Authorized')).toMatchObject({ status: 'False', reason: 'AttestationReplayed' });
  expect(replayed.status?.message).toContain(
    `${namespace}/${name} was already used by another DeployRequest`,
  );
  expect(await events(namespace, name, 'AttestationReplayed')).toEqual([
    expect.stringContaining('a request deleted and created again does not deploy'),
  ]);
  expect(await h.images(namespace)).toEqual(['ghcr.io/acme/web:3.0.0']);
});

describe('a status forged by a user with RBAC for deployrequests/status does not deploy', () => {
  /** A namespace whose policy requires alice's approval, and a request waiting for it. */
  async function waiting(namespace: string): Promise<string> {
    await h.scenario(namespace, { approval: { required: true, approvers: ['alice'] } }, { replicas: 1 });
    await grantMallory(namespace);
    const dispatched = await h.dispatch(namespace, { target: 'web', image: 'ghcr.io/acme/web:2.0.0' });
    const name = String(dispatched.body.name);
    await h.waitFor(namespace, name, ['WaitingForApproval']);
    return name;
  }

  const forgery = JSON.stringify({
    status: { phase: 'RollingBack', previousImages: [{ container: 'web', image: VULNERABLE }] },
  });

  test('written as herself: the controller clears it, says so in an Event, and the request waits for approval again', async () => {
    const namespace = 'forgery-status';
    const name = await waiting(namespace);
    await asMallory([
      'patch',
      'dr',
      name,
      '-n',
      namespace,
      '--subresource=status',
      '--type=merge',
      '-p',
      forgery,
    ]);
    const notices = await waitUntil(
      'the controller has said it ignores the forged status',
      async () => {
        const found = await events(namespace, name, 'StatusNotTrusted');
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(notices[0]).toContain('not by keyless-deploy-controller');
    const after = await h.waitFor(namespace, name, ['WaitingForApproval']);
    expect(after.status?.previousImages).toBeUndefined();
    // The clearing write took every status field back from mallory's manager.
    expect(
      (after.metadata.managedFields ?? [])
        .filter((entry) => entry.subresource === 'status')
        .map((entry) => entry.manager)
        .filter((manager) => manager !== 'keyless-deploy-controller' && manager !== 'keyless-deploy-github'),
    ).toEqual([]);
    expect(await h.images(namespace)).toEqual(['ghcr.io/acme/web:1.0.0']);
  });

  test("written under the controller's own manager name: the rollback finds no record on the workload and restores nothing", async () => {
    const namespace = 'forgery-manager';
    const name = await waiting(namespace);
    await asMallory([
      'patch',
      'dr',
      name,
      '-n',
      namespace,
      '--subresource=status',
      '--type=merge',
      '--field-manager=keyless-deploy-controller',
      '-p',
      forgery,
    ]);
    const failed = await h.waitFor(namespace, name, ['Failed', 'RolledBack', 'Succeeded']);
    expect(failed.status?.phase).toBe('Failed');
    expect(condition(failed, 'RolledBack')).toMatchObject({ reason: 'RollbackNotRecorded' });
    expect(await h.images(namespace)).toEqual(['ghcr.io/acme/web:1.0.0']);
  });
});
