/**
 * End-to-end harness: a playground (embedded API server with simulated workloads, OIDC issuer,
 * receiver) without its controller, so each test drives its own controller over HTTP.
 */
import type { GitHubSettings } from '../../src/github/github-settings.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  DeployPolicySpec,
  DeployRequest,
  DeployRequestSpec,
  WorkloadKind,
} from '../../src/api/types.js';
import { parseAttestationPublicKeys } from '../../src/attestation/attestation-keys.js';
import {
  startController,
  type ControllerOptions,
  type RunningController,
} from '../../src/controller/controller-manager.js';
import { isKubeError, type KubeClient, type KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES, workloadResourceType } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startPlayground, type Playground } from '../../src/playground/playground.js';
import { untilApprovalAdmissionInForce } from '../support/approval-admission.js';
import { freshNamespace, realTestCluster } from '../support/test-cluster.js';

export type Request = DeployRequest & KubeObject;

export interface Harness {
  playground: Playground;
  /** True under `npm run test:cluster`: a real kube-apiserver with real controllers and kwok. */
  real: boolean;
  kube: KubeClient;
  /** Path of a kubeconfig for the harness's cluster (what kubectl runs with). */
  kubeconfig: string;
  controller(options?: Partial<ControllerOptions>): Promise<RunningController>;
  /** A namespace with a DeployPolicy `policy` and a Deployment `web` (image ghcr.io/acme/web:1.0.0). */
  scenario(
    namespace: string,
    policy?: Partial<DeployPolicySpec>,
    workload?: Partial<{ kind: string; replicas: number; progressDeadlineSeconds: number }>,
  ): Promise<void>;
  /** A token of the test repository `acme/web` (the subject WEB_POLICY allows), with `claims` on top. */
  token(claims?: Record<string, string>): Promise<string>;
  /** POST /v1/dispatch with a fresh token (`claims` on top), or with `token` when given. */
  dispatch(
    namespace: string,
    body: Record<string, unknown>,
    claims?: Record<string, string>,
    token?: string,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  manual(
    namespace: string,
    name: string,
    spec?: Partial<DeployRequestSpec>,
    annotations?: Record<string, string>,
  ): Promise<Request>;
  waitFor(namespace: string, name: string, phases: string[], timeoutMs?: number): Promise<Request>;
  /**
   * Wait until an (unrestricted) controller has handled everything that happened before the call,
   * so that a negative assertion afterwards means something: a marker request is created in the
   * namespace `settle` (no policy there: it is denied at once); informer events arrive in
   * resourceVersion order, so once the marker is Denied every earlier event has been queued, and
   * once both of the controller's queues are idle it has been handled.
   */
  settle(controller: RunningController): Promise<void>;
  images(namespace: string, kind?: string, name?: string): Promise<string[]>;
  close(): Promise<void>;
}

export const WEB_POLICY: DeployPolicySpec = {
  targets: [
    { kind: 'Deployment', name: 'web', containers: ['web'] },
    { kind: 'CronJob', name: 'report', containers: ['report'] },
  ],
  subjects: [{ repositoryId: '100000001', repositoryOwnerId: '100000000' }],
  allowManual: true,
  images: { repositories: ['ghcr.io/acme/web', 'ghcr.io/acme/report'] },
};

function workloadObject(
  namespace: string,
  kind: string,
  replicas: number,
  progressDeadlineSeconds?: number,
): KubeObject {
  const container =
    kind === 'CronJob'
      ? { name: 'report', image: 'ghcr.io/acme/report:1.0.0' }
      : { name: 'web', image: 'ghcr.io/acme/web:1.0.0' };
  const template = {
    metadata: { labels: { app: 'web' } },
    // A Job's pods must not restart forever (a real API server refuses the default `Always`).
    spec: { containers: [container], ...(kind === 'CronJob' ? { restartPolicy: 'OnFailure' } : {}) },
  };
  if (kind === 'CronJob') {
    return {
      apiVersion: 'batch/v1',
      kind,
      metadata: { name: 'report', namespace },
      spec: { schedule: '0 * * * *', jobTemplate: { spec: { template } } },
    };
  }
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name: 'web', namespace },
    spec: {
      ...(kind === 'DaemonSet' ? {} : { replicas }),
      selector: { matchLabels: { app: 'web' } },
      template,
      ...(progressDeadlineSeconds ? { progressDeadlineSeconds } : {}),
    },
  };
}

/**
 * `github`: GitHub App settings for the playground's receiver (webhooks); `rolloutStepMs`: time
 * between simulated replica steps (default 20 ms: quick rollouts).
 */
export async function startHarness(
  options: {
    github?: GitHubSettings;
    rolloutStepMs?: number;
    /** A real cluster's admin kubeconfig; default: the run's (`npm run test:cluster`) or the embedded server. */
    kubeconfigPath?: string;
  } = {},
): Promise<Harness> {
  const realPath = options.kubeconfigPath ?? realTestCluster()?.kubeconfigPath;
  const real = realPath ? { kubeconfigPath: realPath } : undefined;
  const playground = await startPlayground({
    stateDir: mkdtempSync(join(tmpdir(), 'keyless-e2e-')),
    controlPlane: real ? { kubeconfigPath: real.kubeconfigPath } : 'embedded',
    demo: false,
    controller: false,
    rolloutStepMs: options.rolloutStepMs ?? 20,
    logger: silentLogger(),
    github: options.github,
    // Many dispatches from one test repository; rate limits have their own tests.
    rateLimitPerMinute: 0,
  });
  const kube = playground.kube;
  // Approvals count on requests created after the playground's approval admission policy (a real
  // API server enforces a new policy a moment after storing it: the controller's default 2 s).
  const settleSeconds = real ? 2 : 0;
  await untilApprovalAdmissionInForce(kube, settleSeconds);
  const attestationKeys = await parseAttestationPublicKeys(
    readFileSync(playground.attestationPublicKeyPath, 'utf8'),
  );
  const controllers: RunningController[] = [];
  let markers = 0;
  const namespaces: string[] = [];
  const mintToken = (claims: Record<string, string> = {}): Promise<string> =>
    playground.issuer.mint(
      {
        repository: 'acme/web',
        repository_id: '100000001',
        repository_owner: 'acme',
        repository_owner_id: '100000000',
        ...claims,
      },
      { audience: playground.info.audience },
    );
  const harness: Harness = {
    playground,
    real: real !== undefined,
    kube,
    kubeconfig: playground.info.kubeconfig,
    async controller(options = {}) {
      const controller = await startController({
        kube,
        attestationKeys,
        logger: silentLogger(),
        pollMs: 50,
        approvalAdmissionSettleSeconds: settleSeconds,
        ...options,
      });
      controllers.push(controller);
      return controller;
    },
    async scenario(namespace, policy = {}, workload = {}) {
      if (real) await freshNamespace(kube, namespace);
      else
        await kube.create(RESOURCE_TYPES.namespaces, {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: namespace },
        });
      namespaces.push(namespace);
      await kube.create(RESOURCE_TYPES.deployPolicies, {
        apiVersion: 'keyless.dev/v1alpha1',
        kind: 'DeployPolicy',
        metadata: { name: 'policy', namespace },
        spec: { ...WEB_POLICY, ...policy },
      });
      const kind = workload.kind ?? 'Deployment';
      const type = workloadResourceType(kind as WorkloadKind);
      await kube.create(
        type,
        workloadObject(namespace, kind, workload.replicas ?? 2, workload.progressDeadlineSeconds),
      );
    },
    token: mintToken,
    async dispatch(namespace, body, claims = {}, token) {
      token ??= await mintToken(claims);
      const response = await fetch(`${playground.receiver.url}/v1/dispatch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ namespace, ...body }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    async manual(namespace, name, spec = {}, annotations) {
      return kube.create<Request>(RESOURCE_TYPES.deployRequests, {
        apiVersion: 'keyless.dev/v1alpha1',
        kind: 'DeployRequest',
        metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
        spec: {
          target: { kind: 'Deployment', name: 'web' },
          images: [{ container: 'web', image: 'ghcr.io/acme/web:2.0.0' }],
          source: { type: 'kubernetes' },
          ...spec,
        },
      } as Request);
    },
    async waitFor(namespace, name, phases, timeoutMs = real ? 60_000 : 15_000) {
      const deadline = Date.now() + timeoutMs;
      let last: Request | undefined;
      while (Date.now() < deadline) {
        last = await kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name);
        if (last?.status?.phase && phases.includes(last.status.phase)) return last;
        await new Promise((r) => setTimeout(r, 40));
      }
      throw new Error(
        `${namespace}/${name} did not reach ${phases.join('|')}: phase ${last?.status?.phase} (${last?.status?.message})`,
      );
    },
    async settle(controller) {
      if (!namespaces.includes('settle')) {
        if (real) await freshNamespace(kube, 'settle');
        else
          await kube
            .create(RESOURCE_TYPES.namespaces, {
              apiVersion: 'v1',
              kind: 'Namespace',
              metadata: { name: 'settle' },
            })
            .catch((error: unknown) => {
              if (!isKubeError(error, 409)) throw error;
            });
        namespaces.push('settle');
      }
      const name = `marker-${++markers}`;
      await harness.manual('settle', name);
      await harness.waitFor('settle', name, ['Denied']);
      await controller.idle();
    },
    async images(namespace, kind = 'Deployment', name = 'web') {
      const type = workloadResourceType(kind as WorkloadKind);
      const workload = await kube.get<KubeObject>(type, namespace, name);
      const spec = workload?.spec as Record<string, unknown>;
      const template = (
        kind === 'CronJob'
          ? ((spec.jobTemplate as Record<string, unknown>).spec as Record<string, unknown>).template
          : spec.template
      ) as { spec: { containers: Array<{ image: string }> } };
      return template.spec.containers.map((c) => c.image);
    },
    async close() {
      for (const controller of controllers) await controller.stop();
      // A real cluster outlives the test: remove what it made (the embedded server goes away).
      if (real)
        for (const namespace of namespaces)
          await kube.delete(RESOURCE_TYPES.namespaces, undefined, namespace);
      await playground.stop();
    },
  };
  return harness;
}
