/**
 * The chart, installed for real: `helm install` (not a dry run) into a real kube-apiserver, whose
 * admission (CEL cost estimator included) takes the CRDs; then the controller and the receiver run
 * as the chart's Deployments say, under the chart's ServiceAccounts with tokens the API server
 * issued, so the real RBAC authorizer enforces the chart's Roles. A dispatch is deployed, a failing
 * one rolled back and reported to (fake) GitHub; a call the chart does not grant is refused with
 * 403; a Role missing one verb stops the deploy; `helm upgrade` and `helm uninstall` work.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeployRequest } from '../../src/api/types.js';
import { createClientNodeKubeClient } from '../../src/kube/client-node-kube-client.js';
import { isKubeError, type KubeClient, type KubeObject } from '../../src/kube/kube-client.js';
import { loadKubeConfig } from '../../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../src/playground/oidc-issuer.js';
import { ACME_WEB, startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { CHART, helm } from '../support/helm.js';
import { kubectl, kubectlOk, writeKubeconfig } from '../support/kubectl.js';
import { runAsPod, type RunningPod } from '../support/run-as-pod.js';
import { freshNamespace, realTestCluster, type RealTestCluster } from '../support/test-cluster.js';

type Request = DeployRequest & KubeObject;

const RELEASE = 'keyless';
const SYSTEM = 'keyless-system';
const APP = 'chart-shop';
const OTHER = 'chart-other';
const AUDIENCE = 'keyless-deploy';

let cluster: RealTestCluster;
let kube: KubeClient;
let config: string;
let issuer: LocalOidcIssuer;
let github: FakeGitHub;
const pods: RunningPod[] = [];

const APP_OBJECTS = (namespace: string): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: ${namespace}}
spec:
  replicas: 2
  progressDeadlineSeconds: 5
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: ghcr.io/acme/web:1.0.0}]
---
apiVersion: keyless.dev/v1alpha1
kind: DeployPolicy
metadata: {name: web, namespace: ${namespace}}
spec:
  targets: [{kind: Deployment, name: web, containers: [web]}]
  subjects: [{repositoryId: "${ACME_WEB.id}", repositoryOwnerId: "${ACME_WEB.ownerId}"}]
  images: {repositories: [ghcr.io/acme/web]}
  github: {enabled: true}
`;

function helmOk(args: string[]): string {
  const result = helm([...args, '--kubeconfig', cluster.kubeconfigPath], 180_000);
  if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
  return result.stdout;
}

async function deployment(name: string): Promise<KubeObject> {
  const found = await kube.get<KubeObject>(RESOURCE_TYPES.deployments, SYSTEM, name);
  if (!found) throw new Error(`Deployment ${SYSTEM}/${name} was not installed`);
  return found;
}

/** Start the chart's controller and receiver as processes under their ServiceAccounts. */
async function runComponents(
  githubApiUrl?: string,
): Promise<{ receiver: RunningPod; controller: RunningPod }> {
  const workDir = mkdtempSync(join(tmpdir(), 'keyless-chart-pods-'));
  const serviceAccountKubeconfig = (namespace: string, name: string): Promise<string> =>
    serviceAccountConfig(namespace, name);
  const receiver = await runAsPod({
    kube,
    deployment: await deployment(`${RELEASE}-receiver`),
    container: 'receiver',
    workDir: join(workDir, 'receiver'),
    serviceAccountKubeconfig,
    // The test's issuer is a local http one; a cluster trusts https://token.actions.githubusercontent.com.
    env: { KEYLESS_OIDC_ISSUERS: issuer.issuer, KEYLESS_ALLOW_INSECURE_ISSUER: 'true' },
  });
  const controller = await runAsPod({
    kube,
    deployment: await deployment(`${RELEASE}-controller`),
    container: 'controller',
    workDir: join(workDir, 'controller'),
    serviceAccountKubeconfig,
    // The chart only takes https API URLs; the fake GitHub listens on loopback http.
    env: githubApiUrl ? { KEYLESS_GITHUB_API_URL: githubApiUrl } : {},
  });
  pods.push(receiver, controller);
  await waitUntil(
    'the receiver and the controller to be ready',
    60_000,
    async () => {
      const ready = await Promise.all([
        fetch(`http://127.0.0.1:${receiver.ports.metrics}/readyz`).then((r) => r.ok),
        fetch(`http://127.0.0.1:${controller.ports.metrics}/readyz`).then((r) => r.ok),
      ]).catch(() => [false]);
      return ready.every(Boolean);
    },
    () => `receiver:\n${receiver.output()}\ncontroller:\n${controller.output()}`,
  );
  return { receiver, controller };
}

/** A kubeconfig with a token the real API server issued to a ServiceAccount. */
async function serviceAccountConfig(namespace: string, name: string): Promise<string> {
  const token = (await kubectlOk(config, ['create', 'token', name, '-n', namespace, '--duration=1h'])).trim();
  const base = loadKubeConfig({ kubeconfigYaml: cluster.kubeconfig });
  const server = base.getCurrentCluster();
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: c, cluster: {server: "${server?.server}", certificate-authority-data: "${server?.caData}"}}]`,
    `users: [{name: u, user: {token: "${token}"}}]`,
    'contexts: [{name: c, context: {cluster: c, user: u}}]',
    'current-context: c',
    '',
  ].join('\n');
}

async function stopComponents(): Promise<void> {
  for (const pod of pods.splice(0)) await pod.stop();
}

async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  detail: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function dispatch(
  receiver: RunningPod,
  namespace: string,
  image: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const token = await issuer.mint(
    {
      repository: 'acme/web',
      repository_id: String(ACME_WEB.id),
      repository_owner: 'acme',
      repository_owner_id: String(ACME_WEB.ownerId),
    },
    { audience: AUDIENCE },
  );
  const response = await fetch(`http://127.0.0.1:${receiver.ports.http}/v1/dispatch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ namespace, target: 'web', image }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function finalPhase(
  namespace: string,
  name: string,
  phases: string[],
  detail: () => string,
): Promise<Request> {
  let last: Request | undefined;
  await waitUntil(
    `${namespace}/${name} to reach ${phases.join('|')}`,
    90_000,
    async () => {
      last = await kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name);
      return phases.includes(last?.status?.phase ?? '');
    },
    () => `last: ${JSON.stringify(last?.status)}\n${detail()}`,
  );
  return last as Request;
}

async function image(namespace: string): Promise<string> {
  return kubectlOk(config, [
    'get',
    'deployment',
    'web',
    '-n',
    namespace,
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  ]);
}

beforeAll(async () => {
  const real = realTestCluster();
  if (!real) throw new Error('test/cluster runs under npm run test:cluster (KEYLESS_TEST_KUBECONFIG)');
  cluster = real;
  kube = cluster.kube;
  config = writeKubeconfig(cluster.kubeconfig);
  issuer = await startLocalOidcIssuer({ defaultAudience: AUDIENCE });
  github = await startFakeGitHub();
  github.install(ACME_WEB);
  helm(['uninstall', RELEASE, '-n', SYSTEM, '--kubeconfig', cluster.kubeconfigPath, '--wait'], 120_000);
  // Other suites of the run install the approval admission objects as the playground does; here
  // the chart installs (and owns) them, which Helm refuses while objects it does not own exist.
  for (const type of [
    RESOURCE_TYPES.validatingAdmissionPolicyBindings,
    RESOURCE_TYPES.validatingAdmissionPolicies,
  ])
    await kube.delete(type, undefined, 'keyless-deploy-approvals');
  for (const namespace of [APP, OTHER]) {
    await freshNamespace(kube, namespace);
    await kubectlOk(config, ['apply', '-f', '-'], { input: APP_OBJECTS(namespace) }).catch(
      async (error: unknown) => {
        // The CRDs come with the chart; the policy waits for them (applied again below).
        if (!String(error).includes('no matches for kind')) throw error;
      },
    );
  }
}, 120_000);

afterAll(async () => {
  await stopComponents();
  await issuer?.close();
  await github?.close();
  if (cluster) {
    helm(['uninstall', RELEASE, '-n', SYSTEM, '--kubeconfig', cluster.kubeconfigPath], 120_000);
    for (const namespace of [APP, OTHER, SYSTEM])
      await kube.delete(RESOURCE_TYPES.namespaces, undefined, namespace);
  }
});

describe('the chart on a real API server', () => {
  test('helm install with default values: CRDs admitted, every object created, the Deployments become available', async () => {
    const out = helmOk([
      'install',
      RELEASE,
      CHART,
      '-n',
      SYSTEM,
      '--create-namespace',
      '--wait',
      '--timeout',
      '150s',
    ]);
    expect(out).toContain('STATUS: deployed');
    for (const crd of ['deployrequests.keyless.dev', 'deploypolicies.keyless.dev'])
      await kubectlOk(config, ['wait', '--for=condition=established', `crd/${crd}`, '--timeout=30s']);
    const kinds = await kubectlOk(config, [
      'get',
      'serviceaccounts,deployments,services,secrets,clusterroles,clusterrolebindings,roles,rolebindings',
      '-A',
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
      '-o',
      'name',
    ]);
    for (const object of [
      `serviceaccount/${RELEASE}-controller`,
      `serviceaccount/${RELEASE}-receiver`,
      `deployment.apps/${RELEASE}-controller`,
      `deployment.apps/${RELEASE}-receiver`,
      `clusterrole.rbac.authorization.k8s.io/${RELEASE}-controller`,
      `clusterrole.rbac.authorization.k8s.io/${RELEASE}-receiver`,
      `secret/${RELEASE}-attestation`,
    ])
      expect(kinds).toContain(object);
    // kwok's fake kubelet runs the pods: --wait saw both Deployments available.
    expect(
      await kubectlOk(config, [
        'get',
        'deployment',
        '-n',
        SYSTEM,
        '-o',
        'jsonpath={.items[*].status.availableReplicas}',
      ]),
    ).toMatch(/^\d+ \d+$/);
    // The app namespaces' policies, now that the CRDs exist.
    for (const namespace of [APP, OTHER])
      await kubectlOk(config, ['apply', '-f', '-'], { input: APP_OBJECTS(namespace) });
  });

  test('under the chart ServiceAccounts: dispatch -> Succeeded, a failing image rolled back; calls the chart does not grant get 403', async () => {
    const { receiver, controller } = await runComponents();
    const detail = (): string => controller.output().slice(-3000);
    const ok = await dispatch(receiver, APP, 'ghcr.io/acme/web:1.1.0');
    expect(ok.status).toBe(202);
    expect(
      (await finalPhase(APP, String(ok.body.name), ['Succeeded', 'Failed', 'Denied'], detail)).status?.phase,
    ).toBe('Succeeded');
    expect(await image(APP)).toBe('ghcr.io/acme/web:1.1.0');

    const bad = await dispatch(receiver, APP, 'ghcr.io/acme/web:fail-1');
    expect(bad.status).toBe(202);
    const rolledBack = await finalPhase(
      APP,
      String(bad.body.name),
      ['RolledBack', 'Failed', 'Succeeded'],
      detail,
    );
    expect(rolledBack.status?.phase).toBe('RolledBack');
    expect(rolledBack.status?.conditions?.find((c) => c.type === 'Deployed')?.reason).toBe(
      'ProgressDeadlineExceeded',
    );
    expect(await image(APP)).toBe('ghcr.io/acme/web:1.1.0');
    const described = await kubectlOk(config, [
      'describe',
      'deployrequest',
      String(bad.body.name),
      '-n',
      APP,
    ]);
    // The real deployment controller's ProgressDeadlineExceeded, as the controller reported it.
    expect(described).toMatch(
      /Warning\s+RollingBack\s.*ReplicaSet \\?"web-[a-z0-9]+\\?" has timed out progressing/,
    );

    // The real RBAC authorizer refuses what the chart does not grant.
    const controllerKube = createClientNodeKubeClient(
      loadKubeConfig({ kubeconfigYaml: await serviceAccountConfig(SYSTEM, `${RELEASE}-controller`) }),
    );
    const receiverKube = createClientNodeKubeClient(
      loadKubeConfig({ kubeconfigYaml: await serviceAccountConfig(SYSTEM, `${RELEASE}-receiver`) }),
    );
    const refused = async (call: Promise<unknown>): Promise<number> =>
      call.then(
        () => 200,
        (error: unknown) => (isKubeError(error) ? error.code : -1),
      );
    expect(await refused(controllerKube.list(RESOURCE_TYPES.secrets, APP))).toBe(403);
    expect(await refused(controllerKube.delete(RESOURCE_TYPES.deployments, APP, 'web'))).toBe(403);
    expect(
      await refused(
        receiverKube.patch(
          RESOURCE_TYPES.deployments,
          APP,
          'web',
          { metadata: { labels: { x: 'y' } } },
          'merge',
        ),
      ),
    ).toBe(403);
    expect(await refused(receiverKube.list(RESOURCE_TYPES.deployRequests, APP))).toBe(403);
    await stopComponents();
  });

  test('a controller Role missing one verb (patch on deployments) is refused by the real authorizer: nothing is deployed until the grant is back', async () => {
    const role = `${RELEASE}-controller`;
    const rules = JSON.parse(await kubectlOk(config, ['get', 'clusterrole', role, '-o', 'json']))
      .rules as Array<{
      apiGroups: string[];
      resources: string[];
      verbs: string[];
    }>;
    const index = rules.findIndex(
      (rule) => rule.apiGroups.includes('apps') && rule.resources.includes('deployments'),
    );
    expect(rules[index]?.verbs).toContain('patch');
    const without = rules.map((rule, i) =>
      i === index ? { ...rule, verbs: rule.verbs.filter((v) => v !== 'patch') } : rule,
    );
    await kubectlOk(config, [
      'patch',
      'clusterrole',
      role,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ rules: without }),
    ]);

    const { receiver, controller } = await runComponents();
    const sent = await dispatch(receiver, APP, 'ghcr.io/acme/web:1.2.0');
    expect(sent.status).toBe(202);
    const name = String(sent.body.name);
    await waitUntil(
      'the controller to be refused',
      60_000,
      async () => /forbidden/i.test(controller.output()),
      () => controller.output(),
    );
    expect(controller.output()).toMatch(/cannot patch resource \\?"deployments\\?"/);
    const stuck = await kube.get<Request>(RESOURCE_TYPES.deployRequests, APP, name);
    expect(['Deploying']).toContain(stuck?.status?.phase);
    expect(await image(APP)).toBe('ghcr.io/acme/web:1.1.0');

    // helm upgrade puts the chart's Role back (taking the rules from the hand edit: --force-conflicts);
    // the retrying controller then deploys once.
    helmOk([
      'upgrade',
      RELEASE,
      CHART,
      '-n',
      SYSTEM,
      '--reuse-values',
      '--force-conflicts',
      '--wait',
      '--timeout',
      '150s',
    ]);
    expect(
      (await finalPhase(APP, name, ['Succeeded', 'Failed'], () => controller.output())).status?.phase,
    ).toBe('Succeeded');
    expect(await image(APP)).toBe('ghcr.io/acme/web:1.2.0');
    await stopComponents();
  });

  test('helm upgrade to namespaces=[one] and the GitHub App: Roles only there, other namespaces refused, a deploy and a rollback reported to GitHub', async () => {
    const keyFile = join(mkdtempSync(join(tmpdir(), 'keyless-chart-app-')), 'private-key.pem');
    writeFileSync(keyFile, github.privateKeyPem, { mode: 0o600 });
    helmOk([
      'upgrade',
      RELEASE,
      CHART,
      '-n',
      SYSTEM,
      '--reuse-values',
      '--set',
      `namespaces={${APP}}`,
      '--set',
      'github.app.enabled=true',
      '--set',
      `github.app.appId=${github.appId}`,
      '--set-file',
      `github.app.privateKey=${keyFile}`,
      '--set',
      'github.app.webhookSecret=chart-test-webhook-secret',
      '--wait',
      '--timeout',
      '150s',
    ]);
    const cluster = await kubectl(config, ['get', 'clusterrole', `${RELEASE}-controller`]);
    expect(cluster.code).toBe(1);
    expect(
      await kubectlOk(config, ['get', 'role', `${RELEASE}-controller`, '-n', APP, '-o', 'name']),
    ).toContain('role');

    const { receiver, controller } = await runComponents(github.url);
    const detail = (): string => controller.output().slice(-3000);
    const elsewhere = await dispatch(receiver, OTHER, 'ghcr.io/acme/web:1.3.0');
    expect(elsewhere.status).toBe(403);
    expect(JSON.stringify(elsewhere.body)).toContain('not served');

    const sent = await dispatch(receiver, APP, 'ghcr.io/acme/web:1.3.0');
    expect(sent.status).toBe(202);
    const done = await finalPhase(APP, String(sent.body.name), ['Succeeded', 'Failed'], detail);
    expect(done.status?.phase).toBe('Succeeded');
    const failing = await dispatch(receiver, APP, 'ghcr.io/acme/web:fail-2');
    expect(failing.status).toBe(202);
    expect(
      (await finalPhase(APP, String(failing.body.name), ['RolledBack', 'Failed'], detail)).status?.phase,
    ).toBe('RolledBack');
    // Each request is a GitHub deployment (found by the request's uid in its payload): the good one
    // ends success, the rolled-back one failure. (Turning the App on also reports older requests.)
    const lastState = async (name: string): Promise<string | undefined> => {
      const uid = (await kube.get<Request>(RESOURCE_TYPES.deployRequests, APP, name))?.metadata.uid;
      const found = github
        .deployments()
        .find((d) => JSON.stringify(d.body.payload ?? {}).includes(`"uid":"${uid}"`));
      return found?.statuses.at(-1)?.state as string | undefined;
    };
    await waitUntil(
      'GitHub to show both outcomes',
      60_000,
      async () =>
        (await lastState(String(sent.body.name))) === 'success' &&
        (await lastState(String(failing.body.name))) === 'failure',
      () => JSON.stringify(github.deployments().map((d) => [d.body.payload, d.statuses.map((x) => x.state)])),
    );
    expect(github.violations).toEqual([]);
    // A namespace the Roles do not cover is out of the controller's reach.
    const controllerKube = createClientNodeKubeClient(
      loadKubeConfig({ kubeconfigYaml: await serviceAccountConfig(SYSTEM, `${RELEASE}-controller`) }),
    );
    await expect(controllerKube.list(RESOURCE_TYPES.deployRequests, OTHER)).rejects.toMatchObject({
      code: 403,
    });
    await stopComponents();
  });

  test('helm uninstall removes the release and keeps the CRDs, the requests and the attestation key', async () => {
    helmOk(['uninstall', RELEASE, '-n', SYSTEM, '--wait', '--timeout', '150s']);
    const left = await kubectlOk(config, [
      'get',
      'deployments,serviceaccounts,roles,clusterroles',
      '-A',
      '-l',
      `app.kubernetes.io/instance=${RELEASE}`,
      '-o',
      'name',
    ]);
    expect(left.trim()).toBe('');
    expect(await kubectlOk(config, ['get', 'crd', 'deployrequests.keyless.dev', '-o', 'name'])).toContain(
      'deployrequests',
    );
    expect((await kube.list(RESOURCE_TYPES.deployRequests, APP)).items.length).toBeGreaterThan(0);
    expect(await kube.get(RESOURCE_TYPES.secrets, SYSTEM, `${RELEASE}-attestation`)).toBeDefined();
  });
});
