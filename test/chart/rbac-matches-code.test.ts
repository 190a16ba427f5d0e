/**
 * Least privilege, proven both ways: the controller's RBAC rules in the chart allow every call the
 * controller makes in its flows (deploy, rollback, denial, every workload kind, history, leader
 * election), and grant nothing those flows do not use.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { parseAttestationPublicKeys } from '../../src/attestation/attestation-keys.js';
import { startController } from '../../src/controller/controller-manager.js';
import type {
  KubeClient,
  KubeObject,
  ResourceType,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { TERMINAL_PHASES } from '../../src/api/types.js';
import { startHarness, type Harness, type Request } from '../e2e/harness.js';
import { ACME_WEB, appDeployments, startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { CHART, helm } from '../support/helm.js';
import { waitUntil } from '../support/wait-until.js';

let h: Harness;
let github: FakeGitHub;

beforeAll(async () => {
  h = await startHarness();
  github = await startFakeGitHub();
  github.install(ACME_WEB);
});

afterAll(async () => {
  await h.close();
  await github.close();
});

/**
 * A KubeClient that records `group/resource verb` for every call, as RBAC would see it, into
 * `used`, and the same prefixed with the namespace (`*` for cluster-wide) into `scoped`.
 */
function recording(kube: KubeClient, used: Set<string>, scoped = new Set<string>()): KubeClient {
  const note = (
    type: ResourceType,
    namespace: string | undefined,
    verb: string,
    subresource?: string,
  ): void => {
    const call = `${type.group}/${type.plural}${subresource ? `/${subresource}` : ''} ${verb}`;
    used.add(call);
    scoped.add(`${namespace ?? '*'} ${call}`);
  };
  return {
    get: (type, namespace, name) => (note(type, namespace, 'get'), kube.get(type, namespace, name)),
    list: (type, namespace, options) => (note(type, namespace, 'list'), kube.list(type, namespace, options)),
    create: (type, object, options) => (
      note(type, object.metadata.namespace, 'create'),
      kube.create(type, object, options)
    ),
    patch: <T extends KubeObject>(...args: Parameters<KubeClient['patch']>) => (
      note(args[0], args[1], 'patch', args[5]?.subresource),
      kube.patch<T>(...args)
    ),
    replace: <T extends KubeObject>(type: ResourceType, object: T, options?: WriteOptions) => (
      note(type, object.metadata.namespace, 'update', options?.subresource),
      kube.replace<T>(type, object, options)
    ),
    delete: (type, namespace, name) => (note(type, namespace, 'delete'), kube.delete(type, namespace, name)),
    watch: <T extends KubeObject>(
      type: ResourceType,
      namespace: string | undefined,
      options: WatchOptions,
      onEvent: (event: WatchEvent<T>) => void,
      onClose: (error?: Error) => void,
    ) => (note(type, namespace, 'watch'), kube.watch<T>(type, namespace, options, onEvent, onClose)),
  };
}

/**
 * Wait until a request has ended in `phase`, or has been deleted by history collection (these
 * controllers collect finished requests after 1 ms, so the end may be gone before it is seen).
 */
async function finishedOrCollected(namespace: string, name: string, phase: string): Promise<void> {
  const seen = await waitUntil(
    `${namespace}/${name} has ended (or been collected)`,
    async () => {
      const request = await h.kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name);
      if (!request) return 'collected';
      return request.status?.phase && TERMINAL_PHASES.includes(request.status.phase)
        ? request.status.phase
        : undefined;
    },
    { timeoutMs: 20_000 },
  );
  if (seen !== 'collected') expect(`${namespace}/${name} ${seen}`).toBe(`${namespace}/${name} ${phase}`);
}

/** The controller's grants in the rendered chart, as `group/resource verb` (and namespaced in `scoped`). */
function granted(extraArgs: string[] = [], scoped = new Set<string>()): Set<string> {
  const result = helm([
    'template',
    'kd',
    CHART,
    '--namespace',
    'keyless-system',
    '--set',
    'receiver.oidcAudience=a',
    '--set',
    'attestation.existingSecret=k',
    '--set',
    'github.app.enabled=true',
    '--set',
    'github.app.existingSecret=gh',
    ...extraArgs,
  ]);
  const roles = parseAllDocuments(result.stdout)
    .map(
      (d) =>
        d.toJS() as {
          kind: string;
          metadata: { name: string; namespace?: string };
          rules?: Array<{
            apiGroups: string[];
            resources: string[];
            verbs: string[];
            resourceNames?: string[];
          }>;
        },
    )
    .filter(
      (o) =>
        o && (o.kind === 'ClusterRole' || o.kind === 'Role') && o.metadata.name.startsWith('kd-controller'),
    );
  const set = new Set<string>();
  for (const role of roles)
    for (const rule of role.rules ?? []) {
      // The only grant on cluster-scoped objects names them: no read of other admission policies.
      if (rule.apiGroups.includes('admissionregistration.k8s.io'))
        expect(rule.resourceNames).toEqual(['keyless-deploy-approvals']);
      for (const group of rule.apiGroups)
        for (const resource of rule.resources)
          for (const verb of rule.verbs) {
            set.add(`${group}/${resource} ${verb}`);
            scoped.add(
              `${role.kind === 'Role' ? role.metadata.namespace : '*'} ${group}/${resource} ${verb}`,
            );
          }
    }
  return set;
}

test("the controller's RBAC in the chart is exactly what its code uses", async () => {
  const used = new Set<string>();
  const keys = await parseAttestationPublicKeys(readFileSync(h.playground.attestationPublicKeyPath, 'utf8'));
  const controller = await startController({
    kube: recording(h.kube, used),
    attestationKeys: keys,
    logger: silentLogger(),
    pollMs: 50,
    leaderElection: {
      namespace: 'default',
      name: 'rbac-test',
      identity: 'only',
      leaseDurationMs: 1000,
      renewDeadlineMs: 800,
      retryPeriodMs: 100,
    },
    history: { ttlMs: 1, intervalMs: 100 },
    // Claims of attested names are collected at once, so that their list and delete show.
    claimRetentionMs: 1,
    github: {
      deployments: appDeployments(github),
    },
  });
  try {
    await h.scenario(
      'rbac',
      {
        targets: [
          { kind: 'Deployment', name: 'web', containers: ['web'] },
          { kind: 'CronJob', name: 'report', containers: ['report'] },
        ],
      },
      { progressDeadlineSeconds: 1 },
    );
    await h.manual('rbac', 'ok');
    // A request that needs approval, so that the controller reads the approval admission objects.
    await h.scenario('rbac-approval', { approval: { required: true } });
    await h.manual('rbac-approval', 'gated');
    await h.waitFor('rbac-approval', 'gated', ['WaitingForApproval'], 20_000);
    // A request from GitHub, so that the reporter writes its progress (status patch).
    expect((await h.dispatch('rbac', { target: 'web', image: 'ghcr.io/acme/web:1.5.0' })).status).toBe(202);
    await finishedOrCollected('rbac', 'ok', 'Succeeded');
    await h.manual('rbac', 'bad', { images: [{ container: 'web', image: 'ghcr.io/acme/web:fail-3' }] });
    await h.manual('rbac', 'denied', { target: { kind: 'Deployment', name: 'nope' } });
    for (const kind of ['StatefulSet', 'DaemonSet', 'CronJob'] as const) {
      const namespace = `rbac-${kind.toLowerCase()}`;
      const name = kind === 'CronJob' ? 'report' : 'web';
      const container = kind === 'CronJob' ? 'report' : 'web';
      await h.scenario(namespace, { targets: [{ kind, name, containers: [container] }] }, { kind });
      await h.manual(namespace, 'roll', {
        target: { kind, name },
        images: [{ container, image: `ghcr.io/acme/${container}:9.0.0` }],
      });
    }
    // History deletes finished requests; wait until the flows have ended and been collected.
    for (const call of [
      'keyless.dev/deployrequests delete',
      'batch/cronjobs patch',
      'keyless.dev/deployrequests/status patch',
      'coordination.k8s.io/leases delete',
    ])
      await waitUntil(`the controller has made the call ${call}`, () => used.has(call), {
        timeoutMs: 20_000,
        describe: () => [...used].sort(),
      });
  } finally {
    await controller.stop();
  }
  const rules = granted();
  const notGranted = [...used].filter((call) => !rules.has(call)).sort();
  const unused = [...rules].filter((rule) => !used.has(rule)).sort();
  expect({ notGranted, unused }).toEqual({ notGranted: [], unused: [] });
}, 60_000);

test("restricted to listed namespaces, the controller calls only inside them, exactly as the chart's Roles grant", async () => {
  const used = new Set<string>();
  const scoped = new Set<string>();
  const keys = await parseAttestationPublicKeys(readFileSync(h.playground.attestationPublicKeyPath, 'utf8'));
  await h.scenario('keyless-system', {
    targets: [{ kind: 'Deployment', name: 'unused', containers: ['x'] }],
  });
  await h.scenario('served', {
    targets: [
      { kind: 'Deployment', name: 'web', containers: ['web'] },
      { kind: 'StatefulSet', name: 'web', containers: ['web'] },
    ],
  });
  await h.scenario('not-served');
  const outside = await h.manual('not-served', 'ignored');
  const controller = await startController({
    kube: recording(h.kube, used, scoped),
    attestationKeys: keys,
    logger: silentLogger(),
    pollMs: 50,
    namespaces: ['served', 'served-approval'],
    leaderElection: {
      namespace: 'keyless-system',
      name: 'kd-controller',
      identity: 'only',
      leaseDurationMs: 1000,
      renewDeadlineMs: 800,
      retryPeriodMs: 100,
    },
    history: { ttlMs: 1, intervalMs: 100 },
  });
  await h.scenario('served-approval', { approval: { required: true } });
  try {
    await h.manual('served', 'ok');
    await h.manual('served', 'denied', { target: { kind: 'Deployment', name: 'nope' } });
    await finishedOrCollected('served', 'denied', 'Denied');
    await h.manual('served-approval', 'gated');
    await h.waitFor('served-approval', 'gated', ['WaitingForApproval'], 20_000);
    await waitUntil(
      'history has deleted a finished request',
      () => used.has('keyless.dev/deployrequests delete'),
      {
        timeoutMs: 20_000,
        describe: () => [...used].sort(),
      },
    );
  } finally {
    await controller.stop();
  }
  // The request outside the served namespaces was never touched.
  const after = await h.kube.get<KubeObject>(RESOURCE_TYPES.deployRequests, 'not-served', 'ignored');
  expect(after?.metadata.resourceVersion).toBe(outside.metadata.resourceVersion);
  // Cluster-wide: only reading the approval admission objects (cluster-scoped, by name).
  const clusterWide = [
    '* admissionregistration.k8s.io/validatingadmissionpolicies get',
    '* admissionregistration.k8s.io/validatingadmissionpolicybindings get',
  ];
  expect([...scoped].filter((call) => call.startsWith('* ')).sort()).toEqual(clusterWide);
  expect([...scoped].filter((call) => call.startsWith('not-served '))).toEqual([]);
  const rules = new Set<string>();
  granted(['--set', 'namespaces={served,served-approval}'], rules);
  const notGranted = [...scoped].filter((call) => !rules.has(call)).sort();
  expect(notGranted).toEqual([]);
  expect([...rules].filter((rule) => rule.startsWith('* ')).sort()).toEqual(clusterWide);
}, 60_000);
