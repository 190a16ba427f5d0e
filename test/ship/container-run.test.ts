/**
 * The image, run as the chart runs it. Renders the chart with the real helm, takes the receiver's
 * and the controller's pod specs, and runs each in the image built by `npm run image` with podman,
 * field by field (support/pod-spec-to-podman.ts refuses fields it cannot reproduce), in-cluster
 * configuration included: the ServiceAccount token (issued by the cluster), CA and namespace at
 * /var/run/secrets/kubernetes.io/serviceaccount, KUBERNETES_SERVICE_HOST/PORT. The cluster comes
 * from support/ship-cluster.ts (the one injectable place): by default the real control plane, whose
 * RBAC then holds the containers to the chart's Roles. Then: a dispatch to the containerised
 * receiver is deployed by the containerised controller; --version and --help work; nothing is
 * written outside the mounted directories; SIGTERM stops each within the grace period.
 *
 * Needs rootful podman (run by `npm run test:image`, which builds the image and the control plane
 * first; .ci/run runs it where podman works). Not part of the default `npm run test:jest`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseAllDocuments } from 'yaml';
import { podman, podmanProblem } from '../../scripts/image/podman.mjs';
import type { DeployRequest } from '../../src/api/types.js';
import type { KubeClient, KubeObject } from '../../src/kube/kube-client.js';
import { createKubeClient } from '../../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../src/playground/oidc-issuer.js';
import { CHART, helm } from '../support/helm.js';
import { PROJECT_ROOT, kubectlOk, writeKubeconfig } from '../support/kubectl.js';
import { HOST_LOOPBACK_FROM_CONTAINER, podNetworkFlags } from './support/container-network.js';
import { CONFIG_MAPS } from './support/core-types.js';
import { kubeletVolumes } from './support/kubelet-volumes.js';
import { podSpecToPodman, type Json, type PodmanTranslation } from './support/pod-spec-to-podman.js';
import {
  podmanOk,
  runContainer,
  runToCompletion,
  waitForHttpOk,
  type RunningContainer,
} from './support/podman-container.js';
import { startShipCluster, type ShipCluster } from './support/ship-cluster.js';
import { createTestCa } from '../support/test-pki.js';

const RELEASE = 'kd';
const NAMESPACE = 'keyless-system';
const APP_NAMESPACE = 'shop';
const AUDIENCE = 'https://deploy.keyless.test';
const COMPONENTS = ['receiver', 'controller'] as const;
type Component = (typeof COMPONENTS)[number];

interface ImageRecord {
  image: string;
  id: string;
  sizeBytes: number;
  layers: number;
  baseLayers: number;
  user: string;
  bases: { kind: string };
}

interface Pod {
  component: Component;
  name: string;
  translation: PodmanTranslation;
  container: RunningContainer;
  /** Host port of the readiness probe's container port (the operations port, for the receiver). */
  port: number;
  /** Host port of each named container port (the receiver's public API is `http`). */
  named: Map<string, number>;
}

const run = randomBytes(3).toString('hex');
const summary: string[] = [];
let record: ImageRecord;
let workDir: string;
let cluster: ShipCluster;
let issuer: LocalOidcIssuer;
let admin: KubeClient;
let rendered: Json[];
const pods = new Map<Component, Pod>();
/** Every pod container started, removed at the end even when start-up failed half-way. */
const started: RunningContainer[] = [];

function readRecord(): ImageRecord {
  try {
    return JSON.parse(readFileSync(join(PROJECT_ROOT, '.image', 'image.json'), 'utf8')) as ImageRecord;
  } catch (error) {
    throw new Error(
      `no image recorded in .image/image.json (run npm run image first): ${(error as Error).message}`,
    );
  }
}

function render(values: string[]): Json[] {
  const result = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...values]);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as Json)
    .filter(Boolean);
}

const named = (kind: string, name: string): Json | undefined =>
  rendered.find((o) => o.kind === kind && (o.metadata as { name: string }).name === name);

async function readData(
  kind: 'Secret' | 'ConfigMap',
  name: string,
): Promise<Record<string, Buffer> | undefined> {
  const object = await admin.get<
    KubeObject & { data?: Record<string, string>; binaryData?: Record<string, string> }
  >(kind === 'Secret' ? RESOURCE_TYPES.secrets : CONFIG_MAPS, NAMESPACE, name);
  if (!object) return undefined;
  const data: Record<string, Buffer> = {};
  for (const [key, value] of Object.entries(object.data ?? {}))
    data[key] = kind === 'Secret' ? Buffer.from(value, 'base64') : Buffer.from(value);
  for (const [key, value] of Object.entries(object.binaryData ?? {}))
    data[key] = Buffer.from(value, 'base64');
  return data;
}

/** Start one component's pod as the chart renders it, the way kubelet would. */
async function startPod(component: Component): Promise<Pod> {
  const deployment = named('Deployment', `${RELEASE}-${component}`);
  if (!deployment) throw new Error(`the chart renders no Deployment ${RELEASE}-${component}`);
  const pod = (deployment.spec as { template: { spec: Json } }).template.spec;
  const podName = `${RELEASE}-${component}-${run}`;
  const serviceAccountName = String(pod.serviceAccountName);

  // What kubelet fetches before it starts the pod: the referenced Secrets and ConfigMaps, and a
  // token for the pod's ServiceAccount.
  const secrets = new Map<string, Record<string, Buffer>>();
  const configMaps = new Map<string, Record<string, Buffer>>();
  for (const volume of (pod.volumes ?? []) as Json[]) {
    const secretName = (volume.secret as Json | undefined)?.secretName;
    const mapName = (volume.configMap as Json | undefined)?.name;
    if (secretName) {
      const data = await readData('Secret', String(secretName));
      if (data) secrets.set(String(secretName), data);
    }
    if (mapName) {
      const data = await readData('ConfigMap', String(mapName));
      if (data) configMaps.set(String(mapName), data);
    }
  }
  const token = await cluster.issueServiceAccountToken(NAMESPACE, serviceAccountName, 3600);
  const volumes = kubeletVolumes(join(workDir, 'pods', podName), {
    secrets,
    configMaps,
    serviceAccount: { token, caPem: cluster.caPem, namespace: NAMESPACE },
  });
  const keyValues = { Secret: secrets, ConfigMap: configMaps };
  const translation = podSpecToPodman(pod, component, {
    podName,
    namespace: NAMESPACE,
    image: record.id,
    imageUser: record.user,
    volumeDir: volumes.volumeDir,
    serviceAccountDir: volumes.serviceAccountDir,
    serviceAccountAutomount: (name) =>
      (named('ServiceAccount', name) as { automountServiceAccountToken?: boolean } | undefined)
        ?.automountServiceAccountToken !== false,
    keyValue: (kind, name, key) => {
      const value = keyValues[kind].get(name)?.[key];
      if (value === undefined) throw new Error(`${kind} ${name} has no key ${key}`);
      return value.toString();
    },
    apiServer: { host: cluster.serviceHost, port: cluster.port },
    networkFlags: podNetworkFlags(cluster.serviceHost),
  });
  const container = runContainer(podName, translation.flags, record.id, translation.args);
  started.push(container);
  const probe = translation.readinessProbe;
  if (!probe) throw new Error(`${component}: the chart gives no readiness probe`);
  const port = await container.hostPort(probe.containerPort);
  const hostPorts = new Map<string, number>();
  for (const { name, containerPort } of translation.ports)
    if (name) hostPorts.set(name, await container.hostPort(containerPort));
  return { component, name: podName, translation, container, port, named: hostPorts };
}

function pod(component: Component): Pod {
  const found = pods.get(component);
  if (!found) throw new Error(`${component} is not running`);
  return found;
}

beforeAll(async () => {
  const problem = podmanProblem();
  if (problem) throw new Error(`podman cannot run containers here: ${problem}`);
  record = readRecord();
  summary.push(
    `image ${record.image} ${record.id.slice(0, 12)}: ${(record.sizeBytes / 1e6).toFixed(1)} MB, ${record.layers} layers (${record.bases.kind} bases)`,
  );
  workDir = mkdtempSync(join(tmpdir(), 'keyless-ship-'));
  mkdirSync(join(workDir, 'cluster'));
  mkdirSync(join(workDir, 'issuer'));
  cluster = await startShipCluster(join(workDir, 'cluster'));
  summary.push(`cluster: ${cluster.description}`);

  // The workflow's OIDC issuer, over HTTPS with its own CA, reached by the receiver at the host's
  // loopback; the CA reaches the receiver as the chart's extraCaCertificates ConfigMap.
  const issuerCa = createTestCa(join(workDir, 'issuer'));
  const issuerCert = issuerCa.issueServing('issuer', [], [HOST_LOOPBACK_FROM_CONTAINER, '127.0.0.1']);
  issuer = await startLocalOidcIssuer({
    tls: { key: issuerCert.keyPem, cert: issuerCert.certPem },
    publicHost: HOST_LOOPBACK_FROM_CONTAINER,
  });

  const kubeconfig = writeKubeconfig(cluster.adminKubeconfig);
  admin = createKubeClient({ kubeconfigYaml: cluster.adminKubeconfig });
  await kubectlOk(kubeconfig, ['apply', '--server-side', '-f', join(PROJECT_ROOT, 'crds')]);
  const apply = (objects: Json[]) =>
    kubectlOk(kubeconfig, ['apply', '--server-side', '-f', '-'], {
      input: objects.map((o) => JSON.stringify(o)).join('\n'),
    });
  await apply(
    [NAMESPACE, APP_NAMESPACE].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
  );
  await apply([
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'issuer-ca', namespace: NAMESPACE },
      data: { 'ca.crt': issuerCa.certPem },
    },
  ]);

  rendered = render([
    '--set',
    `receiver.oidcIssuers[0]=${issuer.issuer}`,
    '--set',
    `receiver.oidcAudience=${AUDIENCE}`,
    '--set',
    'extraCaCertificates.configMap=issuer-ca',
  ]);
  // Everything the chart installs except its Deployments, whose pods podman runs instead.
  await apply(rendered.filter((o) => o.kind !== 'Deployment'));

  await apply([
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: APP_NAMESPACE },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:1.0.0' }] },
        },
      },
    },
    {
      apiVersion: 'keyless.dev/v1alpha1',
      kind: 'DeployPolicy',
      metadata: { name: 'policy', namespace: APP_NAMESPACE },
      spec: {
        targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
        subjects: [{ repositoryId: '100000001', repositoryOwnerId: '100000000' }],
        images: { repositories: ['ghcr.io/acme/web'] },
      },
    },
  ]);

  for (const component of COMPONENTS) {
    const since = Date.now();
    const running = await startPod(component);
    pods.set(component, running);
    const probe = running.translation.readinessProbe as NonNullable<PodmanTranslation['readinessProbe']>;
    await waitForHttpOk(`http://127.0.0.1:${running.port}${probe.path}`, running.container, 120_000);
    summary.push(
      `${component}: container ${running.name} ready in ${((Date.now() - since) / 1000).toFixed(1)} s`,
    );
  }
}, 420_000);

afterAll(async () => {
  for (const container of started) container.remove();
  await issuer?.close();
  await cluster?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  process.stdout.write(`\ncontainer run test:\n${summary.map((line) => `  ${line}`).join('\n')}\n\n`);
}, 120_000);

describe('the image, run as the chart runs it', () => {
  test("podman applied the chart's security context, resources and in-cluster configuration", () => {
    for (const component of COMPONENTS) {
      const running = pod(component);
      const [inspect] = JSON.parse(podmanOk(['container', 'inspect', running.name])) as Array<{
        Config: { User: string; Env: string[] };
        HostConfig: {
          ReadonlyRootfs: boolean;
          CapDrop: string[];
          CapAdd: string[];
          SecurityOpt: string[];
          Memory: number;
          CpuShares: number;
          GroupAdd: string[];
        };
        Mounts: Array<{ Destination: string; RW: boolean }>;
      }>;
      if (!inspect) throw new Error(`no container ${running.name}`);
      expect([component, inspect.Config.User]).toEqual([component, '65532:65532']);
      expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
      expect(inspect.HostConfig.CapAdd ?? []).toEqual([]);
      // Dropping ALL leaves no capability: podman lists every one it dropped.
      expect(inspect.HostConfig.CapDrop).toEqual(
        expect.arrayContaining(['CAP_CHOWN', 'CAP_NET_BIND_SERVICE', 'CAP_SETUID']),
      );
      expect(inspect.HostConfig.SecurityOpt).toContain('no-new-privileges');
      expect(inspect.HostConfig.Memory).toBe(384 * 2 ** 20);
      expect(inspect.HostConfig.GroupAdd).toContain('65532');
      const mounts = Object.fromEntries(inspect.Mounts.map((m) => [m.Destination, m.RW]));
      expect(mounts).toMatchObject({
        '/keys': false,
        '/tmp': true,
        '/etc/keyless-deploy/ca': false,
        '/var/run/secrets/kubernetes.io/serviceaccount': false,
      });
      expect(inspect.Config.Env).toEqual(
        expect.arrayContaining([
          `KUBERNETES_SERVICE_HOST=${cluster.serviceHost}`,
          `KUBERNETES_SERVICE_PORT=${cluster.port}`,
        ]),
      );
    }
  });

  test('a dispatch to the containerised receiver is deployed by the containerised controller and reported Succeeded', async () => {
    const token = await issuer.mint(
      {
        repository: 'acme/web',
        repository_id: '100000001',
        repository_owner: 'acme',
        repository_owner_id: '100000000',
      },
      { audience: AUDIENCE },
    );
    // The public API is the port named http; health and metrics are on the operations port.
    const receiver = `http://127.0.0.1:${pod('receiver').named.get('http')}`;
    const response = await fetch(`${receiver}/v1/dispatch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: APP_NAMESPACE, target: 'web', image: 'ghcr.io/acme/web:1.1.0' }),
    });
    const body = (await response.json()) as Record<string, unknown>;
    expect([response.status, body.error]).toEqual([202, undefined]);
    const name = String(body.name);

    const deadline = Date.now() + 90_000;
    let request: (DeployRequest & KubeObject) | undefined;
    while (Date.now() < deadline) {
      request = await admin.get<DeployRequest & KubeObject>(
        RESOURCE_TYPES.deployRequests,
        APP_NAMESPACE,
        name,
      );
      if (['Succeeded', 'Failed', 'Denied', 'RolledBack'].includes(request?.status?.phase ?? '')) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect([request?.status?.phase, request?.status?.message]).toEqual(['Succeeded', expect.any(String)]);
    const web = await admin.get<
      KubeObject & { spec: { template: { spec: { containers: Array<{ image: string }> } } } }
    >(RESOURCE_TYPES.deployments, APP_NAMESPACE, 'web');
    expect(web?.spec.template.spec.containers.map((c) => c.image)).toEqual(['ghcr.io/acme/web:1.1.0']);
    // Both talked to the API server with the tokens issued to their own ServiceAccounts.
    const users = cluster.authenticatedUsers?.(NAMESPACE);
    if (users)
      expect([...users].sort()).toEqual([
        `system:serviceaccount:${NAMESPACE}:${RELEASE}-controller`,
        `system:serviceaccount:${NAMESPACE}:${RELEASE}-receiver`,
      ]);
    summary.push(`dispatch ${name}: ${request?.status?.phase} (${request?.status?.message})`);
  }, 120_000);

  test('--version and --help work in the image; there is no shell', async () => {
    const flags = pod('controller').translation.flags;
    const version = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')).version as string;
    const shown = await runToCompletion(`kd-version-${run}`, flags, record.id, ['--version']);
    expect(shown).toEqual({ code: 0, output: `keyless-deploy ${version}\n` });
    const help = await runToCompletion(`kd-help-${run}`, flags, record.id, ['--help']);
    expect(help.code).toBe(0);
    expect(help.output).toContain('Usage: keyless-deploy <command> [options]');
    const shell = await runToCompletion(`kd-shell-${run}`, [...flags, '--entrypoint', '/bin/sh'], record.id, [
      '-c',
      'true',
    ]);
    expect(shell.code).toBe(127);
    summary.push(
      `--version: ${shown.output.trim()}; --help: ${help.output.split('\n')[0]}; /bin/sh: exit ${shell.code}`,
    );
  }, 180_000);

  test('the playground runs in the image, under the same restrictions: the CRDs it installs are shipped', async () => {
    const name = `kd-playground-${run}`;
    const playground = runContainer(name, pod('controller').translation.flags, record.id, [
      'playground',
      '--state-dir',
      `/tmp/playground-${run}`,
    ]);
    try {
      const deadline = Date.now() + 120_000;
      let ended = false;
      void playground.exited.then(() => (ended = true));
      while (!playground.output().includes('"msg":"playground ready"') && !ended && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 250));
      expect(playground.output()).toContain('"msg":"CRDs installed"');
      expect(playground.output()).toContain('"msg":"playground ready"');
      podmanOk(['kill', '--signal', 'TERM', name]);
      expect((await playground.exited).code).toBe(0);
    } finally {
      playground.remove();
    }
    summary.push('playground: CRDs installed, ready, exit 0 on SIGTERM');
  }, 180_000);

  test('nothing is written outside the mounted directories: the root filesystem is read-only', () => {
    for (const component of COMPONENTS) {
      const running = pod(component);
      const write = (path: string) =>
        podman([
          'exec',
          running.name,
          '/nodejs/bin/node',
          '-e',
          `require('fs').writeFileSync(${JSON.stringify(path)}, 'x')`,
        ]);
      const root = write('/app/written-at-run-time');
      expect([root.status, root.stderr]).toEqual([
        1,
        expect.stringContaining('EROFS: read-only file system'),
      ]);
      const tmp = write('/tmp/written-at-run-time');
      expect([tmp.status, tmp.stderr]).toEqual([0, '']);
      // What differs from the image: only the mount points podman created (and their parents).
      const mountPoints = running.translation.mounts.map((m) => m.mountPath);
      const diff = podmanOk(['diff', running.name]).split('\n').filter(Boolean);
      const unexplained = diff
        .map((line) => line.replace(/^[ACD] /, ''))
        .filter((path) => !mountPoints.some((mount) => mount === path || mount.startsWith(`${path}/`)));
      expect([component, unexplained]).toEqual([component, []]);
      summary.push(
        `${component}: write to / refused (EROFS), to /tmp allowed; podman diff: ${diff.join(', ')}`,
      );
    }
  });

  test("SIGTERM stops each process cleanly within the chart's terminationGracePeriodSeconds", async () => {
    for (const component of COMPONENTS) {
      const running = pod(component);
      const grace = running.translation.terminationGracePeriodSeconds;
      const sent = Date.now();
      podmanOk(['kill', '--signal', 'TERM', running.name]);
      const exit = await Promise.race([
        running.container.exited,
        new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), grace * 1000).unref()),
      ]);
      expect([component, exit === 'timeout' ? 'still running' : exit.code]).toEqual([component, 0]);
      const seconds = ((exit as { at: number }).at - sent) / 1000;
      expect(running.container.output()).toContain('"msg":"stopped"');
      summary.push(`${component}: SIGTERM -> exit 0 in ${seconds.toFixed(1)} s (grace ${grace} s)`);
    }
  }, 180_000);
});
