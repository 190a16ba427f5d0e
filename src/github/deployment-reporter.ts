/**
 * Reports DeployRequests from GitHub back to GitHub as deployments and deployment statuses. It runs
 * beside the deploy reconciler with its own queue, so GitHub being slow, down or rate limited never
 * delays or fails a deploy. Progress is kept in `status.github` (deployment id, states delivered),
 * written after each GitHub call; before each call the reporter looks at what GitHub already has,
 * so a crash between the call and the status write neither loses nor repeats a report.
 *
 * Steps, in the Flux shape: source (only attested GitHub requests) -> policy (reporting on?) ->
 * deployment (found by this request's uid, or created; a `deployment` webhook brings its own) ->
 * statuses (each desired state not yet delivered, in order).
 */
import type { Condition, DeployPolicy, DeployRequest, GitHubReportStatus } from '../api/types.js';
import { verifyAttestation, type AttestationPublicKey } from '../attestation/index.js';
import type { KubeClient, KubeObject } from '../kube/kube-client.js';
import { isKubeError } from '../kube/kube-client.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { getCondition, setCondition } from '../runtime/conditions.js';
import type { EventRecorder } from '../runtime/event-recorder.js';
import type { WorkResult } from '../runtime/work-queue.js';
import { describeState, desiredStates } from './deployment-states.js';
import { GITHUB_REASON, GITHUB_REPORTED } from './github-condition.js';
import type { GitHubDeployments } from './github-deployments.js';
import { retryDecision } from './github-retry.js';
import type { RepositoryRef } from './installation-tokens.js';

type Request = DeployRequest & KubeObject;

/** Field manager of the reporter's status writes (the controller trusts status written by it). */
export const REPORTER_FIELD_MANAGER = 'keyless-deploy-github';
const FIELD_MANAGER = REPORTER_FIELD_MANAGER;

export interface DeploymentReporterDeps {
  kube: KubeClient;
  github: GitHubDeployments;
  attestationKeys: readonly AttestationPublicKey[];
  /** The policy a request matched, from the controller's cache. */
  policy(namespace: string, name: string): DeployPolicy | undefined;
  /** `log_url` template with `{namespace}` and `{name}`. */
  logUrlTemplate?: string;
  logger: Logger;
  metrics?: Metrics;
  /** Events on the request when a report fails (rate limited by the recorder). */
  events?: EventRecorder;
  now?: () => number;
  /** First retry delay after a GitHub error (doubles per attempt). Default 1 s. */
  retryBaseMs?: number;
}

/** Does this request (still) have something to report? Cheap: the controller filters with it. */
export function needsReport(request: Pick<DeployRequest, 'spec' | 'status'>): boolean {
  const type = request.spec?.source?.type;
  if (type !== 'github-oidc' && type !== 'github-deployment') return false;
  const delivered = request.status?.github?.reportedStates ?? [];
  return desiredStates(request).some((state) => !delivered.includes(state));
}

/** One reconcile per DeployRequest key (`namespace/name`). */
export class DeploymentReporter {
  private readonly attempts = new Map<string, number>();

  constructor(private readonly deps: DeploymentReporterDeps) {}

  async reconcile(key: string): Promise<WorkResult> {
    const [namespace, name] = key.split('/') as [string, string];
    let request = await this.deps.kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name);
    if (!request || !needsReport(request)) {
      this.attempts.delete(key);
      return undefined;
    }
    // Step 1, source: only what the receiver attested speaks for a repository.
    const identity = request.spec.source.github;
    if (!identity || !(await verifyAttestation(request, this.deps.attestationKeys)).ok) return undefined;
    // Step 2, policy: reporting is on unless the matched policy turns it off.
    const matched = request.status?.matchedPolicy;
    const policy = matched ? this.deps.policy(namespace, matched) : undefined;
    if (policy?.spec.github?.enabled === false) return undefined;

    const repository: RepositoryRef = { fullName: identity.repository, id: identity.repositoryId };
    let report: GitHubReportStatus = { ...(request.status?.github ?? {}) };
    try {
      // Step 3, deployment.
      if (!report.deploymentId) {
        const deployment = await this.deployment(request, repository, policy);
        report = { ...report, deploymentId: deployment.id, deploymentUrl: deployment.url };
        request = await this.save(request, report);
      }
      const deploymentId = report.deploymentId as string;
      // Step 4, statuses: what GitHub already shows counts as delivered (a crash after the call).
      const shown = new Set(await this.deps.github.states(repository, deploymentId));
      const environmentUrl = policy?.spec.github?.environmentUrl;
      const logUrl = this.logUrl(request);
      for (const state of desiredStates(request)) {
        if (report.reportedStates?.includes(state)) continue;
        if (!shown.has(state)) {
          await this.deps.github.addStatus(repository, deploymentId, {
            state,
            description: describeState(request, state),
            ...(logUrl ? { logUrl } : {}),
            ...(environmentUrl && state === 'success' ? { environmentUrl } : {}),
          });
          this.count(state, 'delivered');
        }
        report = { ...report, reportedStates: [...(report.reportedStates ?? []), state] };
        delete report.lastError;
        // The report got through: a GitHubReported=False left by an earlier failure turns True.
        const recovered =
          getCondition(request.status?.conditions, GITHUB_REPORTED)?.status === 'False'
            ? this.condition(
                request,
                'True',
                GITHUB_REASON.delivered,
                `GitHub shows ${report.reportedStates?.join(', ')}`,
              )
            : undefined;
        request = await this.save(request, report, recovered);
      }
      this.attempts.delete(key);
      return undefined;
    } catch (error) {
      if (isKubeError(error)) throw error; // the API server: the queue retries with backoff
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      const decision = retryDecision(error, attempt, (this.deps.now ?? Date.now)(), this.deps.retryBaseMs);
      this.deps.logger.warn(
        {
          request: key,
          repository: repository.fullName,
          attempt,
          retry: decision.retry,
          reason: decision.reason,
        },
        decision.retry
          ? 'GitHub report failed; will retry'
          : 'GitHub report failed; giving up until the request changes',
      );
      this.count('any', decision.retry ? 'retry' : 'failed');
      // Visible on the request while it retries: the GitHubReported condition and a Warning Event.
      const message = `reporting to GitHub failed: ${decision.reason}; ${
        decision.retry ? 'retrying' : 'not retried until the request changes'
      }`;
      if (request.status?.github?.lastError !== decision.reason) {
        await this.save(
          request,
          { ...report, lastError: decision.reason },
          this.condition(request, 'False', GITHUB_REASON.failed, message),
        ).catch(() => undefined);
      }
      await this.deps.events?.record(request, 'Warning', GITHUB_REASON.failed, message);
      return decision.retry ? { requeueAfterMs: decision.afterMs } : undefined;
    }
  }

  private async deployment(
    request: Request,
    repository: RepositoryRef,
    policy: DeployPolicy | undefined,
  ): Promise<{ id: string; url?: string }> {
    const identity = request.spec.source.github;
    // A `deployment` webhook brought its own GitHub deployment: report on it.
    if (identity?.deploymentId) return { id: identity.deploymentId };
    const ref = identity?.sha ?? identity?.ref;
    if (!ref) throw Object.assign(new Error('the request names no commit to deploy'), { status: 422 });
    const environment =
      request.spec.environment ?? identity?.environment ?? request.metadata.namespace ?? 'default';
    // Created before, and the status write lost? The payload carries this request's uid.
    const existing = (await this.deps.github.find(repository, ref, environment)).find(
      (d) =>
        (d.payload as { keylessDeploy?: { uid?: string } } | null)?.keylessDeploy?.uid ===
        request.metadata.uid,
    );
    if (existing) return existing;
    const target = `${request.spec.target.kind}/${request.spec.target.name}`;
    return this.deps.github.create(repository, {
      ref,
      environment,
      description: `keyless-deploy: ${target} in ${request.metadata.namespace}`.slice(0, 140),
      payload: {
        keylessDeploy: {
          namespace: request.metadata.namespace,
          name: request.metadata.name,
          uid: request.metadata.uid,
          target: request.spec.target,
          images: request.spec.images,
        },
      },
      productionEnvironment: policy?.spec.github?.productionEnvironment ?? false,
      transientEnvironment: policy?.spec.github?.transientEnvironment ?? false,
    });
  }

  private logUrl(request: Request): string | undefined {
    return this.deps.logUrlTemplate
      ?.replaceAll('{namespace}', encodeURIComponent(request.metadata.namespace ?? ''))
      .replaceAll('{name}', encodeURIComponent(request.metadata.name ?? ''));
  }

  /** The request's conditions with GitHubReported set. */
  private condition(
    request: Request,
    status: Condition['status'],
    reason: string,
    message: string,
  ): Condition[] {
    return setCondition(
      request.status?.conditions,
      { type: GITHUB_REPORTED, status, reason, message },
      request.metadata.generation,
      new Date((this.deps.now ?? Date.now)()),
    );
  }

  /**
   * Merge-patch `status.github`; the deploy reconciler owns the rest of the status. With
   * `conditions` (the GitHubReported condition changed), the whole list is written, guarded by the
   * resourceVersion read, so a condition the reconciler wrote meanwhile is never lost (409 instead).
   */
  private async save(
    request: Request,
    report: GitHubReportStatus,
    conditions?: Condition[],
  ): Promise<Request> {
    return this.deps.kube.patch<Request>(
      RESOURCE_TYPES.deployRequests,
      request.metadata.namespace,
      request.metadata.name as string,
      {
        ...(conditions ? { metadata: { resourceVersion: request.metadata.resourceVersion } } : {}),
        status: {
          github: { ...report, lastError: report.lastError ?? null },
          ...(conditions ? { conditions } : {}),
        },
      },
      'merge',
      { subresource: 'status', fieldManager: FIELD_MANAGER },
    );
  }

  private count(state: string, outcome: string): void {
    this.deps.metrics
      ?.counter('github_reports_total', 'GitHub deployment status deliveries by state and outcome.', [
        'state',
        'outcome',
      ])
      .inc({ state, outcome });
  }
}
