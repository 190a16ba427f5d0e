/**
 * Conformance of the embedded API server, driven by the real kubectl binary: what the project,
 * its users and its tests do with kubectl must behave as against a real cluster. The same file
 * runs against a real kube-apiserver under `npm run test:cluster`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { KUBECTL, PROJECT_ROOT, kubectl, kubectlOk, writeKubeconfig } from '../support/kubectl.js';
import { freshNamespace, realTestCluster } from '../support/test-cluster.js';

const CRDS = join(PROJECT_ROOT, 'crds');

const NAMESPACE_AND_DEPLOYMENT = `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ghcr.io/acme/web:1.0.0
      - name: sidecar
        image: ghcr.io/acme/proxy:1.0.0
`;

const POLICY = `
apiVersion: keyless.dev/v1alpha1
kind: DeployPolicy
metadata:
  name: web
  namespace: shop
spec:
  targets: [{kind: Deployment, name: web, containers: [web]}]
  subjects: [{repositoryId: "100000001", ref: refs/heads/main}]
  images: {repositories: [ghcr.io/acme/web]}
`;

const REQUEST = (name: string): string => `
apiVersion: keyless.dev/v1alpha1
kind: DeployRequest
metadata:
  name: ${name}
  namespace: shop
spec:
  target: {kind: Deployment, name: web}
  images: [{container: web, image: ghcr.io/acme/web:1.1.0}]
  reason: conformance
  source: {type: kubernetes}
`;

const real = realTestCluster();
let server: EmbeddedApiServer | undefined;
let config: string;
const k = (args: string[], input?: string): Promise<string> => kubectlOk(config, args, { input });

beforeAll(async () => {
  if (real) {
    config = writeKubeconfig(real.kubeconfig);
    await freshNamespace(real.kube, 'shop');
  } else {
    server = await startEmbeddedApiServer({ workloads: { stepMs: 0 } });
    config = writeKubeconfig(server.kubeconfig());
  }
  await k(['apply', '-f', CRDS]);
  await k(['wait', '--for=condition=established', 'crd/deployrequests.keyless.dev', '--timeout=10s']);
  await k(['apply', '-f', '-'], NAMESPACE_AND_DEPLOYMENT);
  await k(['apply', '-f', '-'], POLICY);
});

afterAll(async () => {
  if (real) await real.kube.delete(RESOURCE_TYPES.namespaces, undefined, 'shop');
  await server?.close();
});

describe(`kubectl against the ${real ? 'real' : 'embedded'} API server`, () => {
  test('uses the kubectl from the npm registry, and the server reports a version', async () => {
    expect(KUBECTL).toContain(join('.tools', 'bin', 'kubectl'));
    const version = JSON.parse(await k(['version', '-o', 'json']));
    // The embedded server reports the release of the real control plane the project tests against.
    expect(version.serverVersion.gitVersion).toMatch(real ? /^v1\.36\.3$/ : /^v1\.36\.3\+keyless-embedded$/);
  });

  test('apply -f crds/ installs both kinds, with short names and categories', async () => {
    const resources = await k(['api-resources', '--api-group=keyless.dev', '-o', 'name']);
    expect(resources.split('\n').sort()).toEqual(
      expect.arrayContaining(['deploypolicies.keyless.dev', 'deployrequests.keyless.dev']),
    );
    const byShortName = await k(['get', 'dp', '-n', 'shop', '-o', 'name']);
    expect(byShortName.trim()).toBe('deploypolicy.keyless.dev/web');
    const byCategory = await k(['get', 'keyless', '-n', 'shop', '-o', 'name']);
    expect(byCategory).toContain('deploypolicy.keyless.dev/web');
    // Re-applying is a no-op.
    expect(await k(['apply', '-f', CRDS])).toContain('unchanged');
  });

  test('client-side and server-side apply of a DeployRequest; get in every output format', async () => {
    expect(await k(['apply', '-f', '-'], REQUEST('manual-1'))).toContain(
      'deployrequest.keyless.dev/manual-1 created',
    );
    expect(await k(['apply', '--server-side', '-f', '-'], REQUEST('manual-2'))).toContain(
      'serverside-applied',
    );
    const json = JSON.parse(await k(['get', 'dr', 'manual-1', '-n', 'shop', '-o', 'json']));
    expect(json.spec.images).toEqual([{ container: 'web', image: 'ghcr.io/acme/web:1.1.0' }]);
    expect(json.metadata.generation).toBe(1);
    expect(await k(['get', 'dr', 'manual-2', '-n', 'shop', '-o', 'yaml', '--show-managed-fields'])).toMatch(
      /manager: kubectl/,
    );
    expect(await k(['get', 'dr', 'manual-1', '-n', 'shop', '-o', 'jsonpath={.spec.target.name}'])).toBe(
      'web',
    );
    const table = await k(['get', 'dr', '-n', 'shop']);
    expect(table.split('\n')[0]).toMatch(/^NAME\s+PHASE\s+TARGET\s+IMAGE\s+SOURCE\s+READY\s+REASON\s+AGE$/);
    expect(table).toMatch(/manual-1\s+web\s+ghcr\.io\/acme\/web:1\.1\.0/);
    const wide = await k(['get', 'dr', '-n', 'shop', '-o', 'wide']);
    expect(wide.split('\n')[0]).toMatch(/KIND.*ENVIRONMENT.*MESSAGE/);
    expect(wide).toMatch(/manual-1\s+Deployment\s+web/);
  });

  test('server-side apply of Namespace, Deployment and DeployPolicy manifests, and a field conflict', async () => {
    const applied = await k(
      ['apply', '--server-side', '--force-conflicts', '-f', '-'],
      `${NAMESPACE_AND_DEPLOYMENT}\n---\n${POLICY}`,
    );
    expect(applied).toContain('namespace/shop serverside-applied');
    expect(applied).toContain('deployment.apps/web serverside-applied');
    expect(applied).toContain('deploypolicy.keyless.dev/web serverside-applied');
    const managers = JSON.parse(
      await k(['get', 'deployment', 'web', '-n', 'shop', '-o', 'json', '--show-managed-fields']),
    ).metadata.managedFields;
    expect(
      managers.map((m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`),
    ).toContain('kubectl/Apply');
    // Another manager applying a different value for a field kubectl owns is a conflict.
    const conflicting = NAMESPACE_AND_DEPLOYMENT.split('---')[1]?.replace('replicas: 2', 'replicas: 5') ?? '';
    const result = await kubectl(
      config,
      ['apply', '--server-side', '--field-manager', 'someone-else', '-f', '-'],
      { input: conflicting },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('conflict');
    expect(await k(['get', 'deployment', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.replicas}'])).toBe('2');
  });

  test('an invalid DeployRequest is refused with the schema messages and nothing is stored', async () => {
    const bad = `
apiVersion: keyless.dev/v1alpha1
kind: DeployRequest
metadata: {name: bad-1, namespace: shop}
spec:
  target: {kind: Pod, name: Web}
  images: []
  source: {type: kubernetes}
`;
    const result = await kubectl(config, ['apply', '-f', '-'], { input: bad });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('The DeployRequest "bad-1" is invalid');
    expect(result.stderr).toContain('spec.target.kind: Unsupported value: "Pod"');
    expect(result.stderr).toContain(
      'spec.images: Invalid value: 0: spec.images in body should have at least 1 items',
    );
    expect(result.stderr).toContain('spec.target.name: Invalid value: "Web"');
    const get = await kubectl(config, ['get', 'dr', 'bad-1', '-n', 'shop']);
    expect(get.code).toBe(1);
    expect(get.stderr).toContain('deployrequests.keyless.dev "bad-1" not found');
  });

  test('unknown fields are rejected by server-side field validation', async () => {
    const unknown = `${REQUEST('unknown-1')}  colour: blue\n`;
    const result = await kubectl(config, ['apply', '-f', '-'], { input: unknown });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown field "spec.colour"');
    expect((await kubectl(config, ['get', 'dr', 'unknown-1', '-n', 'shop'])).code).toBe(1);
  });

  test('the spec of a DeployRequest is immutable; status goes through the status subresource', async () => {
    await k(['apply', '-f', '-'], REQUEST('immutable-1'));
    const result = await kubectl(config, [
      'patch',
      'dr',
      'immutable-1',
      '-n',
      'shop',
      '--type',
      'merge',
      '-p',
      '{"spec":{"reason":"changed"}}',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('spec is immutable; create a new DeployRequest');
    await k([
      'patch',
      'dr',
      'immutable-1',
      '-n',
      'shop',
      '--subresource',
      'status',
      '--type',
      'merge',
      '-p',
      '{"status":{"phase":"Queued","message":"waiting"}}',
    ]);
    const object = JSON.parse(await k(['get', 'dr', 'immutable-1', '-n', 'shop', '-o', 'json']));
    expect(object.status.phase).toBe('Queued');
    expect(object.metadata.generation).toBe(1);
    await k([
      'wait',
      '--for=jsonpath={.status.phase}=Queued',
      'dr/immutable-1',
      '-n',
      'shop',
      '--timeout=5s',
    ]);
  });

  test('strategic merge patch is refused for custom resources (415) and merges containers by name for Deployments', async () => {
    const refused = await kubectl(config, [
      'patch',
      'dp',
      'web',
      '-n',
      'shop',
      '-p',
      '{"spec":{"allowManual":true}}',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('application/strategic-merge-patch+json is not supported');
    await k([
      'patch',
      'deployment',
      'web',
      '-n',
      'shop',
      '--type',
      'strategic',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"ghcr.io/acme/web:1.0.1"}]}}}}',
    ]);
    const images = await k([
      'get',
      'deployment',
      'web',
      '-n',
      'shop',
      '-o',
      'jsonpath={.spec.template.spec.containers[*].image}',
    ]);
    expect(images).toBe('ghcr.io/acme/web:1.0.1 ghcr.io/acme/proxy:1.0.0');
    await k([
      'patch',
      'deployment',
      'web',
      '-n',
      'shop',
      '--type',
      'json',
      '-p',
      '[{"op":"replace","path":"/spec/replicas","value":3}]',
    ]);
    await k(['patch', 'deployment', 'web', '-n', 'shop', '--type', 'merge', '-p', '{"spec":{"replicas":2}}']);
    expect(await k(['get', 'deployment', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.replicas}'])).toBe('2');
    await k(['patch', 'dp', 'web', '-n', 'shop', '--type', 'merge', '-p', '{"spec":{"allowManual":true}}']);
    expect(await k(['get', 'dp', 'web', '-n', 'shop', '-o', 'jsonpath={.spec.allowManual}'])).toBe('true');
  });

  test('annotate, label, label selectors and delete', async () => {
    await k(['apply', '-f', '-'], REQUEST('labelled-1'));
    await k(['annotate', 'dr', 'labelled-1', '-n', 'shop', 'keyless.dev/approved-by=alice']);
    await k(['label', 'dr', 'labelled-1', '-n', 'shop', 'team=web']);
    expect(await k(['get', 'dr', '-n', 'shop', '-l', 'team=web', '-o', 'name'])).toBe(
      'deployrequest.keyless.dev/labelled-1\n',
    );
    expect(await k(['get', 'dr', '-n', 'shop', '-l', 'team!=web', '-o', 'name'])).not.toContain('labelled-1');
    expect(
      await k([
        'get',
        'dr',
        'labelled-1',
        '-n',
        'shop',
        '-o',
        "jsonpath={.metadata.annotations['keyless\\.dev/approved-by']}",
      ]),
    ).toBe('alice');
    expect(await k(['delete', 'dr', 'labelled-1', '-n', 'shop'])).toContain('deleted');
    expect((await kubectl(config, ['get', 'dr', 'labelled-1', '-n', 'shop'])).code).toBe(1);
  });

  test('set image and rollout status follow the simulated Deployment controller', async () => {
    await k(['set', 'image', 'deployment/web', '-n', 'shop', 'web=ghcr.io/acme/web:2.0.0']);
    const status = await k(['rollout', 'status', 'deployment/web', '-n', 'shop', '--timeout=20s']);
    expect(status).toContain('deployment "web" successfully rolled out');
    const deployment = JSON.parse(await k(['get', 'deployment', 'web', '-n', 'shop', '-o', 'json']));
    expect(deployment.status.observedGeneration).toBe(deployment.metadata.generation);
    expect(deployment.status.updatedReplicas).toBe(2);
  });

  test('get -w streams changes as they happen', async () => {
    await k(['apply', '-f', '-'], REQUEST('watched-1'));
    const watcher = spawn(
      KUBECTL,
      ['--kubeconfig', config, 'get', 'dr', 'watched-1', '-n', 'shop', '-w', '--output-watch-events'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    watcher.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const waitFor = async (text: string): Promise<void> => {
        for (let i = 0; i < 100 && !output.includes(text); i++) await new Promise((r) => setTimeout(r, 50));
        expect(output).toContain(text);
      };
      await waitFor('watched-1');
      await k([
        'patch',
        'dr',
        'watched-1',
        '-n',
        'shop',
        '--subresource',
        'status',
        '--type',
        'merge',
        '-p',
        '{"status":{"phase":"Deploying"}}',
      ]);
      await waitFor('Deploying');
      expect(output).toMatch(/MODIFIED\s+watched-1\s+Deploying/);
    } finally {
      watcher.kill();
    }
  });

  test('explain teaches the API from the CRD schema', async () => {
    const spec = await k(['explain', 'deployrequest.spec']);
    expect(spec).toContain('KIND:       DeployRequest');
    expect(spec).toContain('Immutable after creation');
    expect(spec).toMatch(/target\s+<Object> -required-/);
    const kind = await k(['explain', 'deployrequest.spec.target.kind']);
    expect(kind).toContain('ENUM:');
    expect(kind).toContain('StatefulSet');
  });

  test('a CRD whose schema says more about metadata than its type is refused (the real server refuses a description too)', async () => {
    const crd = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.conformance.keyless.dev}
spec:
  group: conformance.keyless.dev
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          metadata: {type: object, description: Standard object metadata.}
`;
    const result = await kubectl(config, ['apply', '-f', '-'], { input: crd });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'spec.validation.openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified',
    );
    expect((await kubectl(config, ['get', 'crd', 'widgets.conformance.keyless.dev'])).code).toBe(1);
  });

  test('errors carry real Status objects (not found, already exists)', async () => {
    const missing = await kubectl(config, ['get', 'deployment', 'nope', '-n', 'shop', '-o', 'json']);
    expect(missing.stderr).toContain('Error from server (NotFound): deployments.apps "nope" not found');
    const created = await kubectl(config, ['create', '-f', '-'], { input: POLICY });
    expect(created.code).toBe(1);
    expect(created.stderr).toContain('Error from server (AlreadyExists)');
  });
});
