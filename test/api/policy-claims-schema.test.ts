/**
 * Finding 9 of issue 13: `claims` matchers name only the fixed set of GitHub claims the policy
 * engine knows (docs/policy.md lists it); the DeployPolicy CRD's schema refuses any other name, so
 * a policy that would silently never match is not stored. Against the embedded API server under
 * `npm test`, a real kube-apiserver under `npm run test:cluster`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { isKubeError, type KubeClient } from '../../src/kube/kube-client.js';
import { createKubeClient } from '../../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { installCrds } from '../../src/playground/playground.js';
import { CLAIM_FIELDS } from '../../src/policy/index.js';
import { PROJECT_ROOT } from '../support/kubectl.js';
import { freshNamespace, realTestCluster } from '../support/test-cluster.js';

const real = realTestCluster();
let server: EmbeddedApiServer | undefined;
let kube: KubeClient;
const namespace = 'claims-schema';

beforeAll(async () => {
  if (real) {
    kube = real.kube;
    await installCrds(kube);
    await freshNamespace(kube, namespace);
  } else {
    server = await startEmbeddedApiServer({ workloads: false });
    kube = createKubeClient({ kubeconfigYaml: server.kubeconfig() });
    await installCrds(kube);
    await kube.create(RESOURCE_TYPES.namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    });
  }
});
afterAll(async () => {
  if (real) await kube.delete(RESOURCE_TYPES.namespaces, undefined, namespace);
  await server?.close();
});

const policy = (name: string, claims: Record<string, string>) => ({
  apiVersion: 'keyless.dev/v1alpha1',
  kind: 'DeployPolicy',
  metadata: { name, namespace },
  spec: {
    targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
    subjects: [{ repositoryId: '100', claims }],
    images: { repositories: ['ghcr.io/acme/web'] },
  },
});

test('every claim name the policy engine matches is accepted', async () => {
  const claims = Object.fromEntries(
    Object.keys(CLAIM_FIELDS)
      .slice(0, 32)
      .map((name) => [name, 'x']),
  );
  await expect(
    kube.create(RESOURCE_TYPES.deployPolicies, policy('known', claims) as never),
  ).resolves.toBeDefined();
});

test.each(['workflow_sha', 'Workflow', 'enterprise', 'job_workflow_sha', '__proto__'])(
  'an unknown claim name (%s) is refused by the API server, naming the known set, and nothing is stored',
  async (claim) => {
    const name = `unknown-${claim.toLowerCase().replace(/[^a-z]/g, '')}`;
    const error = await kube
      .create(RESOURCE_TYPES.deployPolicies, policy(name, { [claim]: 'x' }) as never)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(isKubeError(error, 422)).toBe(true);
    expect(String((error as Error).message)).toContain('unknown claim name: claims may name only iss, sub,');
    expect(await kube.get(RESOURCE_TYPES.deployPolicies, namespace, name)).toBeUndefined();
  },
);

test('the CRD, its chart copy and docs/policy.md list exactly the claim names the engine knows', () => {
  const names = Object.keys(CLAIM_FIELDS);
  for (const file of [
    'crds/deploypolicies.keyless.dev.yaml',
    'charts/keyless-deploy/crds/deploypolicies.keyless.dev.yaml',
  ]) {
    const crd = readFileSync(join(PROJECT_ROOT, file), 'utf8');
    const rule = /rule: "self\.all\(k, k in \[([^\]]*)\]\)"/.exec(crd)?.[1] ?? '';
    expect(rule.split(',').map((n) => n.trim().replace(/'/g, ''))).toEqual(names);
  }
  const docs = readFileSync(join(PROJECT_ROOT, 'docs', 'policy.md'), 'utf8');
  const listed = /`claims` names one of: ([^.]*)\./.exec(docs)?.[1] ?? '';
  expect(listed.split(',').map((n) => n.trim().replace(/`/g, ''))).toEqual(names);
});
