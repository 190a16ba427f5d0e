/**
 * The playground's demo: a namespace with one Deployment and a DeployPolicy that lets one GitHub
 * repository (by id) set that Deployment's image from one registry path, and the claims a token
 * needs to be allowed by it. The same objects serve a real control plane (kwok nodes, where an
 * image tag starting with `fail` never becomes ready), so the fast failure demo uses only
 * Kubernetes fields: a short progressDeadlineSeconds and a short rollout timeout in the policy.
 */
import type { DeployPolicy } from '../api/types.js';
import type { KubeObject } from '../kube/kube-client.js';

export const DEMO = {
  namespace: 'demo',
  deployment: 'web',
  container: 'web',
  runningImage: 'ghcr.io/acme/web:1.0.0',
  /** An image the demo policy allows, other than the running one. */
  nextImage: 'ghcr.io/acme/web:1.1.0',
  repository: 'acme/web',
  repositoryId: '100000001',
  repositoryOwner: 'acme',
  repositoryOwnerId: '100000000',
  ref: 'refs/heads/main',
  workflowRef: 'acme/web/.github/workflows/release.yml@refs/heads/main',
  /**
   * The demo Deployment's progressDeadlineSeconds: a rollout that makes no progress for this long
   * is failed by the Deployment controller (the real one, or the embedded API server's simulation,
   * in real time), and the controller rolls it back. Short, so the failure demo takes seconds.
   */
  progressDeadlineSeconds: 15,
  /** The demo policy's rollout.timeoutSeconds: the controller's own limit, behind the deadline. */
  rolloutTimeoutSeconds: 30,
} as const;

/** GitHub claims (snake_case, strings) a token needs for the demo policy to allow it. */
export function demoClaims(): Record<string, string> {
  return {
    repository: DEMO.repository,
    repository_id: DEMO.repositoryId,
    repository_owner: DEMO.repositoryOwner,
    repository_owner_id: DEMO.repositoryOwnerId,
    ref: DEMO.ref,
    ref_type: 'branch',
    workflow_ref: DEMO.workflowRef,
    job_workflow_ref: DEMO.workflowRef,
    event_name: 'push',
  };
}

export function demoNamespace(): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DEMO.namespace } };
}

export function demoDeployment(): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: DEMO.deployment, namespace: DEMO.namespace, labels: { app: DEMO.deployment } },
    spec: {
      replicas: 2,
      progressDeadlineSeconds: DEMO.progressDeadlineSeconds,
      selector: { matchLabels: { app: DEMO.deployment } },
      template: {
        metadata: { labels: { app: DEMO.deployment } },
        spec: { containers: [{ name: DEMO.container, image: DEMO.runningImage }] },
      },
    },
  };
}

export function demoPolicy(): DeployPolicy & KubeObject {
  return {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployPolicy',
    metadata: { name: DEMO.deployment, namespace: DEMO.namespace },
    spec: {
      targets: [{ kind: 'Deployment', name: DEMO.deployment, containers: [DEMO.container] }],
      subjects: [
        {
          repositoryId: DEMO.repositoryId,
          repositoryOwnerId: DEMO.repositoryOwnerId,
          ref: DEMO.ref,
          jobWorkflowRef: DEMO.workflowRef,
        },
      ],
      allowManual: true,
      images: { repositories: ['ghcr.io/acme/web'] },
      rollout: { timeoutSeconds: DEMO.rolloutTimeoutSeconds, rollbackOnFailure: true },
    },
  };
}
