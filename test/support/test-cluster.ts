/**
 * The one place the approval tests get their cluster from: an admin kubeconfig file, an admin
 * KubeClient over HTTP, kubeconfigs that act as other users, and how soon the cluster enforces a
 * new admission policy. Today this is the embedded API server with the CRDs and the shipped
 * approval admission policy installed (as the chart installs them); pointing the same tests at a
 * real kube-apiserver means returning these for that server here, and nothing else.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { startEmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { createClientNodeKubeClient } from '../../src/kube/client-node-kube-client.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { loadKubeConfig } from '../../src/kube/load-kube-config.js';
import { installApprovalAdmission, installCrds } from '../../src/playground/playground.js';
import { untilApprovalAdmissionInForce } from './approval-admission.js';
import { writeKubeconfig } from './kubectl.js';

export interface TestCluster {
  /** The administrator's kubeconfig file (may impersonate anyone). */
  kubeconfig: string;
  /** The administrator's KubeClient, over HTTP through client-node. */
  kube: KubeClient;
  /** A kubeconfig file whose user is `user`, through impersonation (`as:`), for kubectl and the CLI. */
  kubeconfigAs(user: string): string;
  /** What a controller on this cluster sets as `approvalAdmissionSettleSeconds`. */
  admissionSettleSeconds: number;
  close(): Promise<void>;
}

/** Start (or connect to) the cluster, with the CRDs and the approval admission policy installed. */
export async function startTestCluster(): Promise<TestCluster> {
  const server = await startEmbeddedApiServer({ workloads: { stepMs: 0 } });
  const yaml = server.kubeconfig();
  const kubeconfig = writeKubeconfig(yaml);
  const kube = createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: yaml }));
  await installCrds(kube);
  await installApprovalAdmission(kube);
  await untilApprovalAdmissionInForce(kube, 0);
  return {
    kubeconfig,
    kube,
    kubeconfigAs(user) {
      const config = parse(yaml) as { users: Array<{ user: Record<string, unknown> }> };
      for (const entry of config.users) entry.user.as = user;
      const path = join(dirname(kubeconfig), `kubeconfig-${user.replace(/[^a-z0-9-]/gi, '_')}`);
      writeFileSync(path, stringify(config), { mode: 0o600 });
      return path;
    },
    // The embedded API server enforces a policy from the write that creates it.
    admissionSettleSeconds: 0,
    close: () => server.close(),
  };
}
