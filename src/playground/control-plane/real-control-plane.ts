/**
 * A real Kubernetes control plane as plain processes on loopback, for the cluster tests and
 * `playground --control-plane real` (never for the operator in a cluster): etcd, kube-apiserver
 * (TLS, client-certificate authentication, ServiceAccount token signing, Node and RBAC
 * authorization), kube-controller-manager (every default controller, each with its own
 * ServiceAccount), kube-scheduler and kwok (fake Nodes; Pods become Running and Ready unless their
 * image tag starts with `fail`). Binaries come from `npm run cluster-tools`.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClientNodeKubeClient } from '../../kube/client-node-kube-client.js';
import { isKubeError, type KubeClient, type KubeObject, type ResourceType } from '../../kube/kube-client.js';
import { loadKubeConfig } from '../../kube/load-kube-config.js';
import type { Logger } from '../../observability/logger.js';
import { findClusterTools, type ClusterTools } from './cluster-tools.js';
import { fakeNode, FAKE_NODE_ANNOTATION, kwokConfigYaml } from './kwok-config.js';
import { ManagedProcess } from './managed-process.js';
import { ControlPlanePki, kubeconfigYaml, writePrivateFile } from './pki.js';
import { tlsRequest, type TlsIdentity } from './tls-request.js';
import { freePort } from './free-port.js';

/** The control plane's components, in start order. */
export const COMPONENTS = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kwok',
] as const;
export type Component = (typeof COMPONENTS)[number];

const NODES: ResourceType = { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false };
const SERVICE_ACCOUNTS: ResourceType = {
  group: '',
  version: 'v1',
  plural: 'serviceaccounts',
  kind: 'ServiceAccount',
  namespaced: true,
};

export interface RealControlPlaneOptions {
  /** PKI, etcd data, logs and kubeconfigs live here; reused by a later start. */
  stateDir: string;
  logger?: Logger;
  /** Fake Nodes kwok runs. Default 2. */
  nodes?: number;
  /** The binaries; default: found through scripts/cluster-tools.mjs. */
  tools?: ClusterTools;
}

export interface RealControlPlane {
  /** `https://127.0.0.1:PORT` of kube-apiserver. */
  url: string;
  /** The API server's audit log (JSON lines): accepted writes to workloads, with their bodies. */
  auditLogPath: string;
  /** The Kubernetes version the API server reports. */
  version: string;
  stateDir: string;
  caPem: string;
  /** Admin (system:masters) kubeconfig, YAML, and where it is written. */
  adminKubeconfig: string;
  adminKubeconfigPath: string;
  /** A KubeClient with the admin identity. */
  kube: KubeClient;
  /** A kubeconfig authenticating as `user` in `groups` with a client certificate the cluster's CA signed. */
  userKubeconfig(user: string, groups?: readonly string[]): Promise<string>;
  /** A token the API server issues to a ServiceAccount (TokenRequest), as the kubelet would mount it. */
  serviceAccountToken(namespace: string, name: string, expirationSeconds?: number): Promise<string>;
  /** A kubeconfig with such a token. */
  serviceAccountKubeconfig(namespace: string, name: string): Promise<string>;
  /** Stop a component and start it again (`crash`: SIGKILL instead of SIGTERM); resolves when it is ready. */
  restart(component: Component, options?: { crash?: boolean }): Promise<void>;
  /** Pids of the running components. */
  pids(): Partial<Record<Component, number>>;
  /** Stop every process, last started first. */
  stop(): Promise<void>;
}

/** Kill processes a previous run in the same state dir left behind (a crashed test run). */
function killLeftovers(pidsFile: string, stateDir: string): void {
  if (!existsSync(pidsFile)) return;
  const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as Record<string, number>;
  for (const pid of Object.values(pids)) {
    try {
      // Only a process whose command line names this state dir is ours (pids are reused).
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(stateDir)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** Start the control plane; resolves when every component is ready and the fake Nodes are Ready. */
export async function startRealControlPlane(options: RealControlPlaneOptions): Promise<RealControlPlane> {
  const stateDir = resolve(options.stateDir);
  const tools = options.tools ?? findClusterTools();
  const log = options.logger?.child({ component: 'control-plane' });
  const dirs = {
    pki: join(stateDir, 'pki'),
    etcd: join(stateDir, 'etcd'),
    logs: join(stateDir, 'logs'),
    certs: join(stateDir, 'serving-certs'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pidsFile = join(stateDir, 'pids.json');
  killLeftovers(pidsFile, stateDir);

  const pki = await ControlPlanePki.open(dirs.pki);
  const serving = await pki.serving();
  const sa = await pki.serviceAccountKey();
  const admin = await pki.client('keyless-admin', ['system:masters'], 'admin');
  const caPem = pki.ca.certPem;
  const ports = {
    etcd: await freePort(),
    etcdPeer: await freePort(),
    apiserver: await freePort(),
    controllerManager: await freePort(),
    scheduler: await freePort(),
    kwok: await freePort(),
  };
  const url = `https://127.0.0.1:${ports.apiserver}`;
  const adminKubeconfig = kubeconfigYaml({ server: url, caPem, user: 'keyless-admin', client: admin });
  const adminKubeconfigPath = join(stateDir, 'kubeconfig');
  writePrivateFile(adminKubeconfigPath, adminKubeconfig);
  const componentKubeconfig = async (name: string, user: string, groups: string[] = []): Promise<string> => {
    const path = join(stateDir, `${name}.kubeconfig`);
    writePrivateFile(
      path,
      kubeconfigYaml({ server: url, caPem, user, client: await pki.client(user, groups, name) }),
    );
    return path;
  };
  const controllerManagerConfig = await componentKubeconfig(
    'kube-controller-manager',
    'system:kube-controller-manager',
  );
  const schedulerConfig = await componentKubeconfig('kube-scheduler', 'system:kube-scheduler');
  // kwok writes Node and Pod status for every fake kubelet; it acts as a cluster admin here.
  const kwokConfig = await componentKubeconfig('kwok', 'kwok-controller', ['system:masters']);
  const kwokStages = join(stateDir, 'kwok.yaml');
  writeFileSync(kwokStages, kwokConfigYaml());

  const etcdUrl = `http://127.0.0.1:${ports.etcd}`;
  const processes: Record<Component, ManagedProcess> = {
    etcd: new ManagedProcess(
      'etcd',
      tools.binary('etcd'),
      [
        '--name=local',
        `--data-dir=${dirs.etcd}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${ports.etcdPeer}`,
        `--initial-cluster=local=http://127.0.0.1:${ports.etcdPeer}`,
        '--listen-metrics-urls=',
        // Test clusters trade durability for speed; a restart keeps what was synced by the OS.
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      join(dirs.logs, 'etcd.log'),
    ),
    'kube-apiserver': new ManagedProcess(
      'kube-apiserver',
      tools.binary('kube-apiserver'),
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.apiserver}`,
        // A loopback address cannot be advertised as the `kubernetes` Service's endpoint.
        '--advertise-address=192.0.2.1',
        '--endpoint-reconciler-type=none',
        `--tls-cert-file=${serving.certFile}`,
        `--tls-private-key-file=${serving.keyFile}`,
        `--client-ca-file=${pki.ca.certFile}`,
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${sa.publicKeyFile}`,
        `--service-account-signing-key-file=${sa.keyFile}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=Node,RBAC',
        '--anonymous-auth=false',
        '--allow-privileged=false',
        '--profiling=false',
        `--cert-dir=${dirs.certs}`,
        `--audit-log-path=${join(dirs.logs, 'audit.log')}`,
        '--audit-log-maxsize=100',
        '--audit-log-maxbackup=1',
        `--audit-policy-file=${writeAuditPolicy(stateDir)}`,
      ],
      join(dirs.logs, 'kube-apiserver.log'),
    ),
    'kube-controller-manager': new ManagedProcess(
      'kube-controller-manager',
      tools.binary('kube-controller-manager'),
      [
        `--kubeconfig=${controllerManagerConfig}`,
        `--authentication-kubeconfig=${controllerManagerConfig}`,
        `--authorization-kubeconfig=${controllerManagerConfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.controllerManager}`,
        `--cert-dir=${join(dirs.certs, 'controller-manager')}`,
        '--leader-elect=false',
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${sa.keyFile}`,
        `--root-ca-file=${pki.ca.certFile}`,
        `--cluster-signing-cert-file=${pki.ca.certFile}`,
        `--cluster-signing-key-file=${pki.ca.keyFile}`,
        '--profiling=false',
      ],
      join(dirs.logs, 'kube-controller-manager.log'),
    ),
    'kube-scheduler': new ManagedProcess(
      'kube-scheduler',
      tools.binary('kube-scheduler'),
      [
        `--kubeconfig=${schedulerConfig}`,
        `--authentication-kubeconfig=${schedulerConfig}`,
        `--authorization-kubeconfig=${schedulerConfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${ports.scheduler}`,
        `--cert-dir=${join(dirs.certs, 'scheduler')}`,
        '--leader-elect=false',
        '--profiling=false',
      ],
      join(dirs.logs, 'kube-scheduler.log'),
    ),
    kwok: new ManagedProcess(
      'kwok',
      tools.binary('kwok'),
      [
        `--kubeconfig=${kwokConfig}`,
        `--config=${kwokStages}`,
        `--manage-nodes-with-annotation-selector=${FAKE_NODE_ANNOTATION}=fake`,
        `--server-address=127.0.0.1:${ports.kwok}`,
      ],
      join(dirs.logs, 'kwok.log'),
    ),
  };

  const adminIdentity = { caPem, certPem: admin.certPem, keyPem: admin.keyPem };
  const healthy = async (probe: string, identity: TlsIdentity = adminIdentity): Promise<boolean> =>
    (await tlsRequest(probe, identity, { timeoutMs: 2000 })).status === 200;
  const readiness: Record<Component, () => Promise<boolean>> = {
    etcd: async () => {
      const answer = await fetch(`${etcdUrl}/health`, { signal: AbortSignal.timeout(2000) });
      return answer.ok && ((await answer.json()) as { health?: string }).health === 'true';
    },
    'kube-apiserver': () => healthy(`${url}/readyz`),
    'kube-controller-manager': () =>
      healthy(`https://127.0.0.1:${ports.controllerManager}/healthz`, { caPem: '' }),
    'kube-scheduler': () => healthy(`https://127.0.0.1:${ports.scheduler}/healthz`, { caPem: '' }),
    kwok: async () => (await fetch(`http://127.0.0.1:${ports.kwok}/healthz`)).ok,
  };
  const savePids = (): void =>
    writeFileSync(
      pidsFile,
      JSON.stringify(Object.fromEntries(COMPONENTS.map((name) => [name, processes[name].pid]))),
    );
  const startComponent = async (name: Component): Promise<void> => {
    const started = Date.now();
    processes[name].start();
    savePids();
    await processes[name].waitReady(readiness[name], name === 'kube-apiserver' ? 120_000 : 60_000);
    log?.info(
      { component: name, ms: Date.now() - started, pid: processes[name].pid },
      'control plane component ready',
    );
  };
  const stopAll = async (): Promise<void> => {
    for (const name of [...COMPONENTS].reverse()) await processes[name].stop();
  };

  const kube = createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: adminKubeconfig }));
  try {
    await startComponent('etcd');
    await startComponent('kube-apiserver');
    await startComponent('kube-controller-manager');
    await startComponent('kube-scheduler');
    for (let index = 0; index < (options.nodes ?? 2); index++) {
      try {
        await kube.create(NODES, fakeNode(`kwok-node-${index}`) as KubeObject);
      } catch (error) {
        if (!isKubeError(error, 409)) throw error;
      }
    }
    await startComponent('kwok');
    await waitFor('the fake Nodes to be Ready', 60_000, async () => {
      const nodes = await kube.list<KubeObject>(NODES, undefined);
      const ready = nodes.items.filter((node) =>
        ((node.status as { conditions?: Array<{ type: string; status: string }> })?.conditions ?? []).some(
          (condition) => condition.type === 'Ready' && condition.status === 'True',
        ),
      );
      return ready.length >= (options.nodes ?? 2);
    });
    // The ServiceAccount controller made `default`: the controller-manager acts.
    await waitFor('the default ServiceAccount', 60_000, async () =>
      Boolean(await kube.get(SERVICE_ACCOUNTS, 'default', 'default')),
    );
  } catch (error) {
    await stopAll();
    throw error;
  }
  const versionAnswer = JSON.parse((await tlsRequest(`${url}/version`, adminIdentity)).body) as {
    gitVersion: string;
  };
  log?.info({ url, version: versionAnswer.gitVersion, stateDir }, 'real control plane ready');

  const serviceAccountToken = async (
    namespace: string,
    name: string,
    expirationSeconds = 3600,
  ): Promise<string> => {
    const answer = await tlsRequest(
      `${url}/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(name)}/token`,
      adminIdentity,
      {
        method: 'POST',
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds } },
      },
    );
    if (answer.status !== 201)
      throw new Error(`TokenRequest for ${namespace}/${name} answered ${answer.status}: ${answer.body}`);
    return (JSON.parse(answer.body) as { status: { token: string } }).status.token;
  };

  return {
    url,
    auditLogPath: join(dirs.logs, 'audit.log'),
    version: versionAnswer.gitVersion,
    stateDir,
    caPem,
    adminKubeconfig,
    adminKubeconfigPath,
    kube,
    async userKubeconfig(user, groups = []) {
      const client = await pki.client(
        user,
        groups,
        `user-${user}-${groups.join('+')}`.replace(/[^A-Za-z0-9+-]+/g, '_'),
      );
      return kubeconfigYaml({ server: url, caPem, user, client });
    },
    serviceAccountToken,
    async serviceAccountKubeconfig(namespace, name) {
      const token = await serviceAccountToken(namespace, name);
      return kubeconfigYaml({
        server: url,
        caPem,
        user: `system:serviceaccount:${namespace}:${name}`,
        token,
        namespace,
      });
    },
    async restart(component, restartOptions = {}) {
      if (restartOptions.crash) await processes[component].kill();
      else await processes[component].stop();
      await startComponent(component);
    },
    pids: () => Object.fromEntries(COMPONENTS.map((name) => [name, processes[name].pid])),
    stop: stopAll,
  };
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
  }
}

/**
 * The audit log records what the API server accepted, as the tests' independent witness: writes to
 * workloads with their request bodies (which DeployRequest a patch names), writes to
 * DeployRequests with metadata only.
 */
function writeAuditPolicy(stateDir: string): string {
  const path = join(stateDir, 'audit-policy.yaml');
  writeFileSync(
    path,
    [
      'apiVersion: audit.k8s.io/v1',
      'kind: Policy',
      'omitStages: [RequestReceived]',
      'rules:',
      '- level: Request',
      '  verbs: [create, update, patch]',
      '  resources:',
      '  - group: apps',
      '    resources: [deployments, statefulsets, daemonsets]',
      '  - group: batch',
      '    resources: [cronjobs]',
      '- level: Metadata',
      '  verbs: [create, update, patch, delete]',
      '  resources:',
      '  - group: keyless.dev',
      '- level: None',
      '',
    ].join('\n'),
  );
  return path;
}
