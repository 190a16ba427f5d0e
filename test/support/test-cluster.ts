/**
 * Which API server a test run targets. `npm test` runs every suite on the embedded API server;
 * `npm run test:cluster` sets KEYLESS_TEST_KUBECONFIG (a local real control plane, or an existing
 * cluster) and the suites it selects run against that real kube-apiserver instead.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createClientNodeKubeClient } from '../../src/kube/client-node-kube-client.js';
import { isKubeError, type KubeClient } from '../../src/kube/kube-client.js';
import { loadKubeConfig } from '../../src/kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { ControlPlanePki, kubeconfigYaml } from '../../src/playground/control-plane/pki.js';

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
