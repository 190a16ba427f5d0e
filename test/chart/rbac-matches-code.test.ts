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
import { silentLogger } from '../../src/observability/logger.js';
import { startHarness, type Harness } from '../e2e/harness.js';
import { CHART, helm } from '../support/helm.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

/** A KubeClient that records `group/resource verb` for every call, as RBAC would see it. */
function recording(kube: KubeClient, used: Set<string>): KubeClient {
  const note = (type: ResourceType, verb: string, subresource?: string): void => {
    used.add(`${type.group}/${type.plural}${subresource ? `/${subresource}` : ''} ${verb}`);
  };
  return {
    get: (type, ...rest) => (note(type, 'get'), kube.get(type, ...rest)),
    list: (type, ...rest) => (note(type, 'list'), kube.list(type, ...rest)),
    create: (type, ...rest) => (note(type, 'create'), kube.create(type, ...rest)),
    patch: <T extends KubeObject>(...args: Parameters<KubeClient['patch']>) => (
      note(args[0], 'patch', args[5]?.subresource),
      kube.patch<T>(...args)
    ),
    replace: <T extends KubeObject>(type: ResourceType, object: T, options?: WriteOptions) => (
      note(type, 'update', options?.subresource),
      kube.replace<T>(type, object, options)
    ),
    delete: (type, ...rest) => (note(type, 'delete'), kube.delete(type, ...rest)),
    watch: <T extends KubeObject>(
      type: ResourceType,
      namespace: string | undefined,
      options: WatchOptions,
      onEvent: (event: WatchEvent<T>) => void,
      onClose: (error?: Error) => void,
    ) => (note(type, 'watch'), kube.watch<T>(type, namespace, options, onEvent, onClose)),
  };
}

function granted(): Set<string> {
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
  ]);
  const roles = parseAllDocuments(result.stdout)
    .map(
      (d) =>
        d.toJS() as {
          kind: string;
          metadata: { name: string };
          rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
        },
    )
    .filter(
      (o) =>
        o && (o.kind === 'ClusterRole' || o.kind === 'Role') && o.metadata.name.startsWith('kd-controller'),
    );
  const set = new Set<string>();
  for (const role of roles)
    for (const rule of role.rules ?? [])
      for (const group of rule.apiGroups)
        for (const resource of rule.resources)
          for (const verb of rule.verbs) set.add(`${group}/${resource} ${verb}`);
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
    await h.waitFor('rbac', 'ok', ['Succeeded'], 20_000).catch(() => undefined);
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
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !used.has('keyless.dev/deployrequests delete'))
      await new Promise((r) => setTimeout(r, 100));
    while (Date.now() < deadline && !used.has('batch/cronjobs patch'))
      await new Promise((r) => setTimeout(r, 100));
  } finally {
    await controller.stop();
  }
  const rules = granted();
  const notGranted = [...used].filter((call) => !rules.has(call)).sort();
  const unused = [...rules].filter((rule) => !used.has(rule)).sort();
  expect({ notGranted, unused }).toEqual({ notGranted: [], unused: [] });
}, 60_000);
