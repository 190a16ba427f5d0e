/**
 * ReplicaSets and Pods of the simulated deployment controller, read by the real kubectl:
 * `kubectl get rs,pods`, `kubectl rollout history`, `kubectl rollout undo` (which patches the
 * Deployment's template from a ReplicaSet), a failing rollout, the revision history limit, the
 * garbage collection of a deleted Deployment's objects, and `kubectl logs` failing at once.
 */
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { kubectl, kubectlOk, writeKubeconfig } from '../support/kubectl.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let server: EmbeddedApiServer;
let config: string;
const NS = 'rollouts';
const k = (args: string[], input?: string): Promise<string> =>
  kubectlOk(config, [...args, '-n', NS], { input });
const json = async (args: string[]): Promise<Json> => JSON.parse(await k([...args, '-o', 'json'])) as Json;

beforeAll(async () => {
  // Quick steps; a progress deadline of 600 s scaled down to 0.6 s, so failing rollouts fail fast.
  server = await startEmbeddedApiServer({ workloads: { stepMs: 20, progressDeadlineScale: 0.001 } });
  config = writeKubeconfig(server.kubeconfig());
  await kubectlOk(config, ['create', 'namespace', NS]);
});

afterAll(async () => {
  await server.close();
});

/** The Deployment's ReplicaSets (by its selector and controller reference), newest revision first. */
async function replicaSets(deployment: string): Promise<Json[]> {
  const owner = await json(['get', 'deployment', deployment]);
  const list = await json(['get', 'rs', '-l', `app=${deployment}`]);
  return (list.items as Json[])
    .filter((rs) => rs.metadata.ownerReferences?.some((ref: Json) => ref.uid === owner.metadata.uid))
    .sort(
      (a, b) =>
        Number(b.metadata.annotations['deployment.kubernetes.io/revision']) -
        Number(a.metadata.annotations['deployment.kubernetes.io/revision']),
    );
}

async function pods(selector: string): Promise<Json[]> {
  return (await json(['get', 'pods', '-l', selector])).items as Json[];
}

/** After a rollout settled: ReplicaSets and Pods add up to the Deployment's status. */
async function expectConsistent(deployment: string): Promise<void> {
  const status = (await json(['get', 'deployment', deployment])).status;
  const sets = await replicaSets(deployment);
  const total = (field: string): number => sets.reduce((n, rs) => n + Number(rs.status?.[field] ?? 0), 0);
  expect(total('replicas')).toBe(status.replicas);
  expect(total('readyReplicas')).toBe(status.readyReplicas ?? 0);
  expect(sets[0]?.status.replicas ?? 0).toBe(status.updatedReplicas);
  const all = await pods(`app=${deployment}`);
  expect(all).toHaveLength(status.replicas);
  const ready = all.filter((pod) =>
    pod.status.conditions.some((c: Json) => c.type === 'Ready' && c.status === 'True'),
  );
  expect(ready).toHaveLength(status.readyReplicas ?? 0);
}

test('a Deployment gets a ReplicaSet per template and Pods owned by it, as kubectl get rs,pods shows', async () => {
  await k(['create', 'deployment', 'web', '--image=ghcr.io/acme/web:1.0.0', '--replicas=3']);
  await k(['rollout', 'status', 'deployment/web', '--timeout=20s']);
  const deployment = await json(['get', 'deployment', 'web']);
  const [rs] = await replicaSets('web');
  const hash = rs?.metadata.labels['pod-template-hash'] as string;
  expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
  expect(rs?.metadata.name).toBe(`web-${hash}`);
  expect(rs?.metadata.ownerReferences).toEqual([
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'web',
      uid: deployment.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ]);
  expect(rs?.metadata.annotations).toMatchObject({
    'deployment.kubernetes.io/revision': '1',
    'deployment.kubernetes.io/desired-replicas': '3',
    'deployment.kubernetes.io/max-replicas': '4',
  });
  expect(rs?.spec.selector.matchLabels).toEqual({ app: 'web', 'pod-template-hash': hash });
  expect(deployment.metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
  expect(deployment.status.conditions.find((c: Json) => c.type === 'Progressing').message).toBe(
    `ReplicaSet "web-${hash}" has successfully progressed.`,
  );
  const owned = await pods(`pod-template-hash=${hash}`);
  expect(owned).toHaveLength(3);
  for (const pod of owned) {
    expect(pod.metadata.name).toMatch(new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    expect(pod.metadata.ownerReferences[0]).toMatchObject({
      kind: 'ReplicaSet',
      name: `web-${hash}`,
      uid: rs?.metadata.uid,
    });
    expect(pod.status.phase).toBe('Running');
  }
  const table = await k(['get', 'rs,pods']);
  expect(table).toMatch(new RegExp(`replicaset.apps/web-${hash}\\s+3\\s+3\\s+3\\s+`));
  expect(table).toMatch(new RegExp(`pod/web-${hash}-\\w{5}\\s+1/1\\s+Running\\s+0\\s+`));
  await expectConsistent('web');
});

test('rollout history lists each template revision with its change cause; undo restores the previous one', async () => {
  await k(['set', 'image', 'deployment/web', 'web=ghcr.io/acme/web:2.0.0']);
  await k(['annotate', 'deployment/web', 'kubernetes.io/change-cause=ship 2.0.0']);
  await k(['rollout', 'status', 'deployment/web', '--timeout=20s']);
  const [second, first] = await replicaSets('web');
  expect(second?.metadata.annotations['deployment.kubernetes.io/revision']).toBe('2');
  expect(second?.metadata.annotations['kubernetes.io/change-cause']).toBe('ship 2.0.0');
  expect(first?.spec.replicas).toBe(0);
  await expectConsistent('web');
  const history = await k(['rollout', 'history', 'deployment/web']);
  expect(history).toMatch(/REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+ship 2\.0\.0\n/);
  expect(await k(['rollout', 'history', 'deployment/web', '--revision=1'])).toContain(
    'Image:\tghcr.io/acme/web:1.0.0',
  );

  expect(await k(['rollout', 'undo', 'deployment/web'])).toBe('deployment.apps/web rolled back\n');
  await k(['rollout', 'status', 'deployment/web', '--timeout=20s']);
  const deployment = await json(['get', 'deployment', 'web']);
  expect(deployment.spec.template.spec.containers[0].image).toBe('ghcr.io/acme/web:1.0.0');
  expect(deployment.spec.template.metadata.labels).toEqual({ app: 'web' });
  expect(deployment.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
  // The template rolled back to reuses its ReplicaSet under a new revision, the old one in the history.
  const sets = await replicaSets('web');
  expect(sets).toHaveLength(2);
  expect(sets[0]?.metadata.name).toBe(first?.metadata.name);
  expect(sets[0]?.metadata.annotations['deployment.kubernetes.io/revision']).toBe('3');
  expect(sets[0]?.metadata.annotations['deployment.kubernetes.io/revision-history']).toBe('1');
  expect(await k(['rollout', 'history', 'deployment/web'])).toMatch(
    /REVISION\s+CHANGE-CAUSE\n2\s+ship 2\.0\.0\n3\s+<none>\n/,
  );
  await expectConsistent('web');

  await k(['rollout', 'undo', 'deployment/web', '--to-revision=2']);
  await k(['rollout', 'status', 'deployment/web', '--timeout=20s']);
  expect(
    await k(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']),
  ).toBe('ghcr.io/acme/web:2.0.0');
  const missing = await kubectl(config, ['rollout', 'undo', 'deployment/web', '--to-revision=9', '-n', NS]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('unable to find specified revision 9 in history');
});

test('a failing image never gets ready: its pods stay unready, the old ones serve, undo recovers at once', async () => {
  await k(['create', 'deployment', 'api', '--image=ghcr.io/acme/api:1.0.0', '--replicas=4']);
  await k(['rollout', 'status', 'deployment/api', '--timeout=20s']);
  await k(['set', 'image', 'deployment/api', 'api=ghcr.io/acme/api:fail-1']);
  const failed = await kubectl(config, ['rollout', 'status', 'deployment/api', '-n', NS, '--timeout=20s']);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain('exceeded its progress deadline');
  const status = (await json(['get', 'deployment', 'api'])).status;
  expect(status).toMatchObject({ replicas: 5, updatedReplicas: 1, readyReplicas: 4, unavailableReplicas: 1 });
  await expectConsistent('api');
  const [failing] = await replicaSets('api');
  const failingPods = await pods(`pod-template-hash=${failing?.metadata.labels['pod-template-hash']}`);
  expect(failingPods).toHaveLength(1);
  expect(failingPods[0]?.status.containerStatuses[0].ready).toBe(false);
  expect(await k(['get', 'pods', '-l', 'app=api'])).toMatch(/0\/1\s+Running/);

  await k(['rollout', 'undo', 'deployment/api']);
  await k(['rollout', 'status', 'deployment/api', '--timeout=20s']);
  expect((await pods('app=api')).map((pod) => pod.spec.containers[0].image)).toEqual(
    Array(4).fill('ghcr.io/acme/api:1.0.0'),
  );
  await expectConsistent('api');
});

test('scaling moves the pods; old ReplicaSets beyond revisionHistoryLimit are deleted', async () => {
  await k(['create', 'deployment', 'batch', '--image=ghcr.io/acme/batch:1', '--replicas=1']);
  await k(['patch', 'deployment', 'batch', '--type=merge', '-p', '{"spec":{"revisionHistoryLimit":1}}']);
  await k(['scale', 'deployment/batch', '--replicas=2']);
  await k(['rollout', 'status', 'deployment/batch', '--timeout=20s']);
  expect(await pods('app=batch')).toHaveLength(2);
  for (const tag of ['2', '3', '4']) {
    await k(['set', 'image', 'deployment/batch', `batch=ghcr.io/acme/batch:${tag}`]);
    await k(['rollout', 'status', 'deployment/batch', '--timeout=20s']);
  }
  const sets = await replicaSets('batch');
  expect(sets.map((rs) => rs.metadata.annotations['deployment.kubernetes.io/revision'])).toEqual(['4', '3']);
  await expectConsistent('batch');
  await k(['scale', 'deployment/batch', '--replicas=0']);
  await k(['rollout', 'status', 'deployment/batch', '--timeout=20s']);
  expect(await pods('app=batch')).toHaveLength(0);
});

test('deleting a Deployment deletes its ReplicaSets and Pods', async () => {
  await k(['create', 'deployment', 'gone', '--image=ghcr.io/acme/gone:1', '--replicas=2']);
  await k(['rollout', 'status', 'deployment/gone', '--timeout=20s']);
  expect(await pods('app=gone')).toHaveLength(2);
  await k(['delete', 'deployment', 'gone']);
  await k(['wait', '--for=delete', 'pods', '-l', 'app=gone', '--timeout=20s']);
  expect(await k(['get', 'rs,pods', '-l', 'app=gone', '-o', 'name'])).toBe('');
});

test('kubectl logs fails at once: the playground runs no containers', async () => {
  // Killed after 10 s (exit code -1) if kubectl waited for a running container instead.
  const logs = await kubectl(config, ['logs', 'deployment/web', '-n', NS], { timeoutMs: 10_000 });
  expect(logs.code).toBe(1);
  expect(logs.stderr).toContain('Error from server (BadRequest)');
  expect(logs.stderr).toContain('has no running containers');
  expect(logs.stderr).toContain('simulates pods');
  const missing = await kubectl(config, ['logs', 'pod/nope', '-n', NS], { timeoutMs: 10_000 });
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('pods "nope" not found');
});
