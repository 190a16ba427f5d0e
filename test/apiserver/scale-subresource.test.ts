/**
 * The `/scale` subresource, driven by the real kubectl (`kubectl scale` patches it, or reads and
 * replaces it when given preconditions) and by raw HTTP for the answers to bad input.
 */
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { kubectl, kubectlOk, writeKubeconfig } from '../support/kubectl.js';

let server: EmbeddedApiServer;
let config: string;
const k = (args: string[], input?: string): Promise<string> => kubectlOk(config, args, { input });

const WORKLOADS = `
apiVersion: v1
kind: Namespace
metadata: {name: scaling}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: scaling}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
    matchExpressions: [{key: tier, operator: In, values: [front, edge]}]
  template:
    metadata: {labels: {app: web, tier: front}}
    spec: {containers: [{name: web, image: ghcr.io/acme/web:1.0.0}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: scaling}
spec:
  replicas: 1
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: ghcr.io/acme/db:1.0.0}]}
`;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: { stepMs: 0 } });
  config = writeKubeconfig(server.kubeconfig());
  await k(['apply', '-f', '-'], WORKLOADS);
});

afterAll(async () => {
  await server.close();
});

const SCALE_URL = '/apis/apps/v1/namespaces/scaling/deployments/web/scale';

async function http(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': contentType },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function deployment(): Promise<{
  spec: { replicas: number };
  metadata: { generation: number; resourceVersion: string; uid: string };
}> {
  return JSON.parse(await k(['get', 'deployment', 'web', '-n', 'scaling', '-o', 'json']));
}

test('discovery lists the scale subresources with the autoscaling/v1 Scale kind', async () => {
  const apps = JSON.parse(await k(['get', '--raw', '/apis/apps/v1']));
  const scales = apps.resources.filter((r: { name: string }) => r.name.endsWith('/scale'));
  expect(scales.map((r: { name: string }) => r.name).sort()).toEqual([
    'deployments/scale',
    'replicasets/scale',
    'statefulsets/scale',
  ]);
  expect(scales[0]).toMatchObject({
    group: 'autoscaling',
    version: 'v1',
    kind: 'Scale',
    namespaced: true,
    verbs: ['get', 'patch', 'update'],
  });
});

test('kubectl scale sets spec.replicas (a new generation) and the simulated controller follows', async () => {
  const before = await deployment();
  expect(await k(['scale', 'deployment/web', '-n', 'scaling', '--replicas=3'])).toBe(
    'deployment.apps/web scaled\n',
  );
  const after = await deployment();
  expect(after.spec.replicas).toBe(3);
  expect(after.metadata.generation).toBe(before.metadata.generation + 1);
  // --timeout makes kubectl wait until the Scale's status reports the replicas.
  await k(['scale', 'deployment/web', '-n', 'scaling', '--replicas=4', '--timeout=20s']);
  const scale = JSON.parse(
    await k(['get', 'deployment', 'web', '-n', 'scaling', '--subresource=scale', '-o', 'json']),
  );
  expect(scale).toMatchObject({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: 'web', namespace: 'scaling', uid: after.metadata.uid },
    spec: { replicas: 4 },
    status: { replicas: 4, selector: 'app=web,tier in (edge,front)' },
  });
  expect(
    await k(['get', 'deployment', 'web', '-n', 'scaling', '-o', 'jsonpath={.status.readyReplicas}']),
  ).toBe('4');
});

test('kubectl scale with preconditions reads and replaces the Scale; a failed precondition changes nothing', async () => {
  await k(['scale', 'deployment/web', '-n', 'scaling', '--replicas=2', '--current-replicas=4']);
  expect((await deployment()).spec.replicas).toBe(2);
  const refused = await kubectl(config, [
    'scale',
    'deployment/web',
    '-n',
    'scaling',
    '--replicas=5',
    '--current-replicas=3',
  ]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('Expected replicas to be 3, was 2');
  expect((await deployment()).spec.replicas).toBe(2);
});

test('kubectl scale works for StatefulSets; zero replicas leave spec of the Scale empty', async () => {
  expect(await k(['scale', 'statefulset/db', '-n', 'scaling', '--replicas=0'])).toBe(
    'statefulset.apps/db scaled\n',
  );
  const scale = (await http('GET', '/apis/apps/v1/namespaces/scaling/statefulsets/db/scale')).body;
  expect(scale.spec).toEqual({});
  expect(scale.status).toMatchObject({ selector: 'app=db' });
  expect(await k(['get', 'statefulset', 'db', '-n', 'scaling', '-o', 'jsonpath={.spec.replicas}'])).toBe('0');
});

test('a negative replica count is 422 Invalid with the Scale cause, and changes nothing', async () => {
  const before = await deployment();
  const current = (await http('GET', SCALE_URL)).body;
  const answer = await http('PUT', SCALE_URL, { ...current, spec: { replicas: -1 } });
  expect(answer.status).toBe(422);
  expect(answer.body).toMatchObject({
    reason: 'Invalid',
    message:
      'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0',
    details: {
      name: 'web',
      group: 'autoscaling',
      kind: 'Scale',
      causes: [
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: -1: must be greater than or equal to 0',
          field: 'spec.replicas',
        },
      ],
    },
  });
  const patched = await http('PATCH', SCALE_URL, { spec: { replicas: -3 } }, 'application/merge-patch+json');
  expect(patched.status).toBe(422);
  expect((await deployment()).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
});

test('stale resourceVersion and foreign uid are 409 Conflict; wrong kinds and values are 400; nothing changes', async () => {
  const before = await deployment();
  const current = (await http('GET', SCALE_URL)).body as { metadata: Record<string, unknown> };
  const stale = await http('PUT', SCALE_URL, {
    ...current,
    metadata: { ...current.metadata, resourceVersion: '1' },
    spec: { replicas: 7 },
  });
  expect(stale.status).toBe(409);
  expect(stale.body.message).toBe(
    'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
  );
  const foreign = await http('PUT', SCALE_URL, {
    ...current,
    metadata: { ...current.metadata, uid: '00000000-0000-0000-0000-000000000000' },
    spec: { replicas: 7 },
  });
  expect(foreign.status).toBe(409);
  expect(foreign.body.message).toContain(
    'Operation cannot be fulfilled on deployments/scale.apps "web": Precondition failed: UID in precondition: 00000000-0000-0000-0000-000000000000',
  );
  const wrongKind = await http('PUT', SCALE_URL, { ...current, kind: 'Deployment', spec: { replicas: 7 } });
  expect(wrongKind.status).toBe(400);
  expect(wrongKind.body.message).toBe(
    'the kind of the object (Deployment) does not match the resource (Scale)',
  );
  const notANumber = await http('PUT', SCALE_URL, { ...current, spec: { replicas: '7' } });
  expect(notANumber.status).toBe(400);
  expect(notANumber.body.message).toContain(
    'cannot unmarshal "7" into Go struct field ScaleSpec.spec.replicas',
  );
  const otherName = await http('PUT', SCALE_URL, {
    ...current,
    metadata: { ...current.metadata, name: 'other' },
    spec: { replicas: 7 },
  });
  expect(otherName.status).toBe(400);
  const notJson = await http('PATCH', SCALE_URL, '{"spec":', 'application/merge-patch+json');
  expect(notJson.status).toBe(400);
  const apply = await http(
    'PATCH',
    `${SCALE_URL}?fieldManager=x`,
    { spec: { replicas: 7 } },
    'application/apply-patch+yaml',
  );
  expect(apply.status).toBe(415);
  const after = await deployment();
  expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  expect(after.spec.replicas).toBe(before.spec.replicas);
});

test('missing parents are 404, other verbs 405, kinds without scale 404', async () => {
  const missing = await http('GET', '/apis/apps/v1/namespaces/scaling/deployments/nope/scale');
  expect(missing.status).toBe(404);
  expect(missing.body.message).toBe('deployments.apps "nope" not found');
  const put = await http('PUT', '/apis/apps/v1/namespaces/scaling/deployments/nope/scale', {
    spec: { replicas: 1 },
  });
  expect(put.status).toBe(404);
  expect((await http('DELETE', SCALE_URL)).status).toBe(405);
  expect((await http('POST', SCALE_URL, { spec: { replicas: 1 } })).status).toBe(405);
  expect((await http('GET', '/apis/batch/v1/namespaces/scaling/cronjobs/x/scale')).status).toBe(404);
  const kubectlMissing = await kubectl(config, ['scale', 'deployment/nope', '-n', 'scaling', '--replicas=1']);
  expect(kubectlMissing.code).toBe(1);
  expect(kubectlMissing.stderr).toContain('deployments.apps "nope" not found');
});
