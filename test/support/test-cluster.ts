/**
 * Which API server a test run targets. `npm test` runs every suite on the embedded API server;
 * `npm run test:cluster` sets KEYLESS_TEST_KUBECONFIG (a local real control plane, or an existing
 * cluster) and the suites it selects run against that real kube-apiserver instead.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { createClientNodeKubeClient } from '../../src/kube/client-node-kube-client.js';
import {
  isKubeError,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '../../src/kube/kube-client.js';
import { loadKubeConfig } from '../../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { ControlPlanePki, kubeconfigYaml } from '../../src/playground/control-plane/pki.js';
import { installApprovalAdmission, installCrds } from '../../src/playground/playground.js';
import { untilApprovalAdmissionInForce } from './approval-admission.js';

export interface RealTestCluster {
  kubeconfigPath: string;
  kubeconfig: string;
  /** An admin client. */
  kube: KubeClient;
  /** The API server's URL. */
  url: string;
  /**
   * A kubeconfig for `user` in `groups`: a client certificate from the local control plane's CA,
   * or, on an existing cluster, the admin identity impersonating the user (`as`, `as-groups`).
   */
  userKubeconfig(user: string, groups?: readonly string[]): Promise<string>;
}

let cached: RealTestCluster | undefined;

/** The real cluster of this run, or undefined on the embedded API server (`npm test`). */
export function realTestCluster(): RealTestCluster | undefined {
  const kubeconfigPath = process.env.KEYLESS_TEST_KUBECONFIG;
  if (!kubeconfigPath) return undefined;
  if (cached) return cached;
  const kubeconfig = readFileSync(kubeconfigPath, 'utf8');
  const config = loadKubeConfig({ kubeconfigYaml: kubeconfig });
  const url = config.getCurrentCluster()?.server ?? '';
  const controlPlaneDir = process.env.KEYLESS_TEST_CONTROL_PLANE_DIR;
  cached = {
    kubeconfigPath,
    kubeconfig,
    kube: createClientNodeKubeClient(config),
    url,
    async userKubeconfig(user, groups = []) {
      if (controlPlaneDir) {
        const pki = await ControlPlanePki.open(join(controlPlaneDir, 'pki'));
        const client = await pki.client(
          user,
          groups,
          `test-${user}-${groups.join('+')}`.replace(/[^A-Za-z0-9+-]+/g, '_'),
        );
        return kubeconfigYaml({ server: url, caPem: pki.ca.certPem, user, client });
      }
      const impersonation = [
        `    as: ${JSON.stringify(user)}`,
        ...(groups.length ? [`    as-groups: ${JSON.stringify(groups)}`] : []),
      ];
      return kubeconfig.replace(/^(\s+user:\n)/m, `$1${impersonation.join('\n')}\n`);
    },
  };
  return cached;
}

/**
 * Create a namespace for a test on the real cluster, deleting a leftover of an earlier run first
 * (an existing cluster keeps what a crashed run left). Resolves when the fresh namespace exists.
 */
export async function freshNamespace(kube: KubeClient, name: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      await kube.create(RESOURCE_TYPES.namespaces, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name },
      });
      return;
    } catch (error) {
      // 409: it exists (or is still terminating): delete and try again.
      if (!isKubeError(error, 409) || Date.now() > deadline) throw error;
      await kube.delete(RESOURCE_TYPES.namespaces, undefined, name);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * The cluster of the approval tests (test/e2e/approvals.test.ts), from this one place: an admin
 * kubeconfig file and KubeClient, kubeconfigs of other users, how soon a new admission policy is
 * enforced, and its namespaces cleaned up on a real cluster. The CRDs and the shipped approval
 * admission policy are installed, as the chart installs them.
 */
export interface TestCluster {
  /** True on a real kube-apiserver (`npm run test:cluster`). */
  real: boolean;
  /** The administrator's kubeconfig file (may impersonate anyone). */
  kubeconfig: string;
  /** The administrator's KubeClient, over HTTP through client-node. */
  kube: KubeClient;
  /**
   * A kubeconfig file whose user is `user` in `groups`: on the embedded server and on an existing
   * cluster through impersonation (`as:`), on the local real control plane a client certificate.
   */
  kubeconfigAs(user: string, groups?: readonly string[]): Promise<string>;
  /** A namespace for a test (removed again by close() on a real cluster). */
  namespace(name: string): Promise<void>;
  /** What a controller on this cluster sets as `approvalAdmissionSettleSeconds`. */
  admissionSettleSeconds: number;
  close(): Promise<void>;
}

const CLUSTER_ROLES: ResourceType = {
  group: 'rbac.authorization.k8s.io',
  version: 'v1',
  plural: 'clusterroles',
  kind: 'ClusterRole',
  namespaced: false,
};
const CLUSTER_ROLE_BINDINGS: ResourceType = {
  ...CLUSTER_ROLES,
  plural: 'clusterrolebindings',
  kind: 'ClusterRoleBinding',
};
const APPROVER_ROLE = 'keyless-test-approvers';

/** The users the approval tests impersonate or hold client certificates for. */
const TEST_APPROVERS = ['alice', 'bob', 'carol'];

/**
 * The test users may get, list, watch, patch and update DeployRequests and read policies (as a
 * team's approvers are granted), so that on a real cluster it is admission, not RBAC, that decides
 * whose approval is written. Bound to those users only: a binding to every authenticated identity
 * would also grant the chart's ServiceAccounts what the chart test proves they lack. Kept
 * installed (every suite of a run may rely on it); an older binding is replaced.
 */
export async function grantApproverRbac(kube: KubeClient): Promise<void> {
  const objects: Array<[ResourceType, KubeObject]> = [
    [
      CLUSTER_ROLES,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: APPROVER_ROLE },
        rules: [
          {
            apiGroups: ['keyless.dev'],
            resources: ['deployrequests'],
            verbs: ['get', 'list', 'watch', 'patch', 'update'],
          },
          { apiGroups: ['keyless.dev'], resources: ['deploypolicies'], verbs: ['get', 'list', 'watch'] },
        ],
      },
    ],
    [
      CLUSTER_ROLE_BINDINGS,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: APPROVER_ROLE },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: APPROVER_ROLE },
        subjects: TEST_APPROVERS.map((name) => ({
          apiGroup: 'rbac.authorization.k8s.io',
          kind: 'User',
          name,
        })),
      },
    ],
  ];
  for (const [type, object] of objects) {
    try {
      await kube.create(type, object);
    } catch (error) {
      if (!isKubeError(error, 409)) throw error;
      const existing = await kube.get(type, undefined, object.metadata.name as string);
      await kube.replace(type, {
        ...object,
        metadata: { ...object.metadata, resourceVersion: existing?.metadata.resourceVersion },
      });
    }
  }
}

/** Start (embedded) or connect to (KEYLESS_TEST_KUBECONFIG) the approval tests' cluster. */
export async function startTestCluster(): Promise<TestCluster> {
  const real = realTestCluster();
  const dir = mkdtempSync(join(tmpdir(), 'keyless-cluster-'));
  const server = real ? undefined : await startEmbeddedApiServer({ workloads: { stepMs: 0 } });
  const adminYaml = real?.kubeconfig ?? (server as EmbeddedApiServer).kubeconfig();
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, adminYaml, { mode: 0o600 });
  const kube = real?.kube ?? createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: adminYaml }));
  // A real API server enforces a new policy a moment after storing it (the controller's default).
  const admissionSettleSeconds = real ? 2 : 0;
  await installCrds(kube);
  // RBAC lets every user read and annotate DeployRequests (as a team's approvers are granted), so
  // on a real cluster it is admission, not RBAC, that stops bob writing alice's name.
  if (real) await grantApproverRbac(kube);
  await installApprovalAdmission(kube);
  await untilApprovalAdmissionInForce(kube, admissionSettleSeconds);
  const namespaces: string[] = [];
  return {
    real: real !== undefined,
    kubeconfig,
    kube,
    async kubeconfigAs(user, groups = []) {
      let yaml: string;
      if (real) {
        yaml = await real.userKubeconfig(user, groups);
      } else {
        if (groups.length > 0)
          throw new Error('client-node sends no Impersonate-Group: use kubectl --as-group for groups');
        const config = parseYaml(adminYaml) as { users: Array<{ user: Record<string, unknown> }> };
        for (const entry of config.users) entry.user.as = user;
        yaml = stringifyYaml(config);
      }
      const path = join(dir, `kubeconfig-${`${user}-${groups.join('+')}`.replace(/[^A-Za-z0-9+-]+/g, '_')}`);
      writeFileSync(path, yaml, { mode: 0o600 });
      return path;
    },
    async namespace(name) {
      if (real) await freshNamespace(kube, name);
      else
        await kube.create(RESOURCE_TYPES.namespaces, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name },
        });
      namespaces.push(name);
    },
    admissionSettleSeconds,
    async close() {
      if (real) for (const name of namespaces) await kube.delete(RESOURCE_TYPES.namespaces, undefined, name);
      await server?.close();
    },
  };
}
