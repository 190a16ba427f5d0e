/**
 * The real control plane as the container test's cluster (docs/real-control-plane.md): etcd,
 * kube-apiserver 1.36 with RBAC, kube-controller-manager, kube-scheduler and kwok on loopback, built
 * by `npm run cluster-tools`. Tokens come from TokenRequest, so the API server authenticates the
 * containers as the chart's ServiceAccounts and its RBAC authorizer enforces the chart's Roles. Its
 * serving certificate covers kubernetes.default.svc, the name containers use.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRealControlPlane } from '../../../src/playground/control-plane/real-control-plane.js';
import type { ShipCluster } from './ship-cluster.js';

export async function startRealShipCluster(workDir: string): Promise<ShipCluster> {
  const plane = await startRealControlPlane({ stateDir: join(workDir, 'control-plane') });
  return {
    description: `real control plane: Kubernetes ${plane.version}, kube-apiserver ${plane.url} (RBAC), controller-manager, scheduler, kwok nodes`,
    enforcesRbac: true,
    port: Number(new URL(plane.url).port),
    serviceHost: 'kubernetes.default.svc',
    caPem: plane.caPem,
    adminKubeconfig: plane.adminKubeconfig,
    issueServiceAccountToken: (namespace, name, expirationSeconds) =>
      plane.serviceAccountToken(namespace, name, expirationSeconds),
    // The API server's audit log: who wrote workloads and DeployRequests.
    authenticatedUsers(namespace) {
      const users = new Set<string>();
      for (const line of readFileSync(plane.auditLogPath, 'utf8').split('\n')) {
        if (!line) continue;
        const username = (JSON.parse(line) as { user?: { username?: string } }).user?.username ?? '';
        if (username.startsWith(`system:serviceaccount:${namespace}:`)) users.add(username);
      }
      return users;
    },
    close: () => plane.stop(),
  };
}
