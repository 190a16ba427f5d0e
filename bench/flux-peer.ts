/**
 * The bench's real peer: Flux notification-controller (built by `npm run peer-tools` from the
 * wrapper module bench/peer/go) as a process against the same real kube-apiserver, with its
 * Receiver CRD, a ServiceAccount whose token the API server issued, the controller's own
 * ClusterRole plus what a Flux install grants it on GitRepositories, and one `generic-oidc`
 * Receiver trusting the bench's issuer with the bench's audience and identity. An accepted token
 * makes it annotate a GitRepository (source-controller does not run: that is where a receiver's
 * work ends).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { createClientNodeKubeClient } from '../src/kube/client-node-kube-client.js';
import type { KubeClient, KubeObject, ResourceType } from '../src/kube/kube-client.js';
import { loadKubeConfig } from '../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../src/kube/resource-types.js';
import type { RealControlPlane } from '../src/playground/control-plane/real-control-plane.js';
import { ManagedProcess } from '../src/playground/control-plane/managed-process.js';
import { installCrds } from '../src/playground/playground.js';
import { REPOSITORY_ROOT } from './bench-api-server.js';
import { BENCH_CLAIMS } from './fixtures.js';
import { freePort } from '../src/playground/control-plane/free-port.js';

/** Namespace and ServiceAccount the peer runs as. */
const FLUX_NAMESPACE = 'flux-system';
const FLUX_ACCOUNT = 'notification-controller';
const ROLE_NAME = 'keyless-bench-flux-notification-controller';

const type = (
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced = true,
): ResourceType => ({
  group,
  version,
  plural,
  kind,
  namespaced,
});
const RECEIVERS = type('notification.toolkit.fluxcd.io', 'v1', 'receivers', 'Receiver');
const GIT_REPOSITORIES = type('source.toolkit.fluxcd.io', 'v1', 'gitrepositories', 'GitRepository');
const SERVICE_ACCOUNTS = type('', 'v1', 'serviceaccounts', 'ServiceAccount');
const CLUSTER_ROLES = type('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false);
const CLUSTER_ROLE_BINDINGS = type(
  'rbac.authorization.k8s.io',
  'v1',
  'clusterrolebindings',
  'ClusterRoleBinding',
  false,
);

/** How the peer was set up (printed with its figures). */
export interface FluxPeerInfo {
  version: string;
  /** The Receiver as created. */
  receiver: KubeObject;
  args: string[];
}

/** A running peer. */
export interface FluxPeer {
  /** `http://127.0.0.1:PORT/hook/...`: the Receiver's webhook URL. */
  url: string;
  info: FluxPeerInfo;
  peakRss(): number;
  stop(): Promise<void>;
}

/** The built peer (`npm run peer-tools`, which builds it once and then reuses it). */
export function findPeerTools(): { dir: string; version: string } {
  const output = execFileSync(process.execPath, [join(REPOSITORY_ROOT, 'scripts', 'peer-tools.mjs')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = output.trim().split('\n').pop() ?? '';
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    notificationController: string;
  };
  return { dir, version: manifest.notificationController };
}

/** Create or leave alone (a rerun against the same server). */
async function ensure(kube: KubeClient, resource: ResourceType, object: KubeObject): Promise<void> {
  const existing = await kube.get(resource, object.metadata.namespace, object.metadata.name as string);
  if (!existing) await kube.create(resource, object);
}

/**
 * Start the peer against `controlPlane`; its Receiver lives in `namespace` (which must exist) and
 * trusts `issuerUrl` for `audience`. Logs go to `logFile`.
 */
export async function startFluxPeer(options: {
  controlPlane: RealControlPlane;
  namespace: string;
  issuerUrl: string;
  audience: string;
  stateDir: string;
}): Promise<FluxPeer> {
  const { controlPlane, namespace } = options;
  const tools = findPeerTools();
  const kube = createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: controlPlane.adminKubeconfig }));
  await installCrds(kube, join(tools.dir, 'crds'));

  await ensure(kube, RESOURCE_TYPES.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: FLUX_NAMESPACE },
  });
  await ensure(kube, SERVICE_ACCOUNTS, {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: FLUX_ACCOUNT, namespace: FLUX_NAMESPACE },
  });
  // The controller's own ClusterRole from its module, plus what a Flux install grants it on the
  // objects a Receiver annotates (its generated role names the older `source.fluxcd.io` group) and
  // the events.k8s.io Events its recorder writes.
  const role = parseYaml(readFileSync(join(tools.dir, 'role.yaml'), 'utf8')) as KubeObject & {
    rules: unknown[];
  };
  await ensure(kube, CLUSTER_ROLES, {
    ...role,
    metadata: { name: ROLE_NAME },
    rules: [
      ...role.rules,
      {
        apiGroups: ['source.toolkit.fluxcd.io'],
        resources: ['gitrepositories'],
        verbs: ['get', 'list', 'watch', 'patch'],
      },
      { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
    ],
  } as KubeObject);
  await ensure(kube, CLUSTER_ROLE_BINDINGS, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: ROLE_NAME },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: ROLE_NAME },
    subjects: [{ kind: 'ServiceAccount', name: FLUX_ACCOUNT, namespace: FLUX_NAMESPACE }],
  } as KubeObject);
  await ensure(kube, GIT_REPOSITORIES, {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: 'web', namespace },
    spec: { url: 'https://github.com/acme/web', interval: '1h', ref: { branch: 'main' } },
  });
  // The same trust as keyless-deploy's receiver: the bench issuer, the bench audience, and the
  // identity the bench DeployPolicy admits (repository and owner ids).
  const receiver: KubeObject = {
    apiVersion: 'notification.toolkit.fluxcd.io/v1',
    kind: 'Receiver',
    metadata: { name: 'bench', namespace },
    spec: {
      type: 'generic-oidc',
      oidcProviders: [
        {
          issuerURL: options.issuerUrl,
          audience: options.audience,
          validations: [
            {
              expression: `claims.repository_id == '${BENCH_CLAIMS.repository_id}' && claims.repository_owner_id == '${BENCH_CLAIMS.repository_owner_id}'`,
              message: 'not the bench repository',
            },
          ],
        },
      ],
      resources: [{ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', name: 'web' }],
    },
  };
  await kube.create(RECEIVERS, receiver);

  const kubeconfigPath = join(options.stateDir, 'flux.kubeconfig');
  writeFileSync(kubeconfigPath, await controlPlane.serviceAccountKubeconfig(FLUX_NAMESPACE, FLUX_ACCOUNT), {
    mode: 0o600,
  });
  const receiverPort = await freePort();
  const args = [
    `--receiverAddr=127.0.0.1:${receiverPort}`,
    `--events-addr=127.0.0.1:${await freePort()}`,
    `--metrics-addr=127.0.0.1:${await freePort()}`,
    `--health-addr=127.0.0.1:${await freePort()}`,
    '--enable-leader-election=false',
    // Our receiver runs with a silent logger in the bench; Flux logs every request at info.
    '--log-level=error',
  ];
  const process_ = new ManagedProcess(
    'notification-controller',
    join(tools.dir, 'notification-controller'),
    args,
    join(options.stateDir, 'notification-controller.log'),
    { ...process.env, KUBECONFIG: kubeconfigPath, RUNTIME_NAMESPACE: FLUX_NAMESPACE },
  );
  process_.start();
  let webhookPath = '';
  try {
    await process_.waitReady(async () => {
      const current = await kube.get<
        KubeObject & {
          status?: { webhookPath?: string; conditions?: Array<{ type: string; status: string }> };
        }
      >(RECEIVERS, namespace, 'bench');
      webhookPath = current?.status?.webhookPath ?? '';
      return (
        webhookPath !== '' &&
        (current?.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
      );
    }, 120_000);
    // The webhook server listens once the manager runs; a refused token answers 400 there.
    await process_.waitReady(async () => {
      const response = await fetch(`http://127.0.0.1:${receiverPort}${webhookPath}`, { method: 'POST' });
      return response.status === 400;
    }, 60_000);
  } catch (error) {
    await process_.stop();
    throw error;
  }
  return {
    url: `http://127.0.0.1:${receiverPort}${webhookPath}`,
    info: { version: tools.version, receiver, args },
    peakRss() {
      try {
        const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${process_.pid}/status`, 'utf8'));
        return match ? Number(match[1]) * 1024 : 0;
      } catch {
        return 0;
      }
    },
    stop: () => process_.stop(),
  };
}
