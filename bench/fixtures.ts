/**
 * Objects the bench creates: namespaces with Deployments, a DeployPolicy that admits both the
 * bench's GitHub identity and manual requests for every Deployment, and manual DeployRequests.
 */
import type { DeployPolicy, DeployRequest } from '../src/api/types.js';
import type { KubeObject } from '../src/kube/kube-client.js';

/** The identity the bench's tokens carry (GitHub claims, strings) and the policy admits. */
export const BENCH_CLAIMS: Record<string, string> = {
  repository: 'acme/web',
  repository_id: '100000001',
  repository_owner: 'acme',
  repository_owner_id: '100000000',
  ref: 'refs/heads/main',
};

/** Builders of the bench's Kubernetes objects. */
export const fixtures = {
  namespace(name: string): KubeObject {
    return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
  },

  deployment(namespace: string, name: string, replicas = 2): KubeObject {
    return {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace, labels: { app: name } },
      spec: {
        replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:1.0.0' }] },
        },
      },
    };
  },

  policy(namespace: string): DeployPolicy & KubeObject {
    return {
      apiVersion: 'keyless.dev/v1alpha1',
      kind: 'DeployPolicy',
      metadata: { name: 'bench', namespace },
      spec: {
        targets: [{ kind: 'Deployment', name: 'glob:*', containers: ['web'] }],
        subjects: [
          { repositoryId: BENCH_CLAIMS.repository_id, repositoryOwnerId: BENCH_CLAIMS.repository_owner_id },
        ],
        allowManual: true,
        images: { repositories: ['ghcr.io/acme/web'] },
      },
    };
  },

  manualRequest(
    namespace: string,
    name: string,
    workload: string,
    image: string,
  ): DeployRequest & KubeObject {
    return {
      apiVersion: 'keyless.dev/v1alpha1',
      kind: 'DeployRequest',
      metadata: { name, namespace },
      spec: {
        target: { kind: 'Deployment', name: workload },
        images: [{ container: 'web', image }],
        source: { type: 'kubernetes' },
      },
    };
  },
};
