/**
 * The DeployRequest reconciler, in the Flux shape: fetch the request from the API server, snapshot
 * its status, run ordered steps (source -> policy -> gates -> ordering -> deploy -> rollout) that
 * stop at the first one that finishes (success or stalling), waits, or throws, then one deferred
 * summarise step turns the outcome into Ready/Reconciling/Stalled, writes the status and records
 * the Events. A thrown error is a generic error: shown on the request (Ready=False,
 * ReconciliationFailed, with the error's message, and a rate-limited Warning Event) and retried by
 * the queue with backoff.
 *
 * Status is written BEFORE each side effect (write-ahead: the step calls `progress`, an
 * intermediate summarise), and every patch of a workload carries an annotation naming the request,
 * so a controller stopped at any point resumes without patching twice or losing the request. The
 * rollout settings are fixed in status when the deploy starts and used until it ends.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  ANNOTATIONS,
  LABELS,
  TERMINAL_PHASES,
  type AppliedRolloutSettings,
  type Condition,
  type ContainerImage,
  type DeployPhase,
  type DeployPolicy,
  type DeployRequest,
  type DeployRequestStatus,
  type GitHubIdentity,
} from '../api/types.js';
import { verifyAttestation, type AttestationPublicKey } from '../attestation/index.js';
import { GITHUB_REPORTED } from '../github/github-condition.js';
import { REPORTER_FIELD_MANAGER } from '../github/deployment-reporter.js';
import { isKubeError, type KubeClient, type KubeObject, type ResourceType } from '../kube/kube-client.js';
import { RESOURCE_TYPES, workloadResourceType } from '../kube/resource-types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import {
  APPROVAL_ADMISSION_NAME,
  approvalAdmissionProblem,
  describeApprover,
  describeApprovers,
  describeDenial,
  evaluateApproval,
  evaluatePolicies,
  evaluateSchedule,
  rolloutSettings,
  type AdmissionObject,
  type ApprovalDecision,
} from '../policy/index.js';
import { getCondition, setCondition, timestamp } from '../runtime/conditions.js';
import type { EventRecorder } from '../runtime/event-recorder.js';
import {
  genericError,
  GenericError,
  toWorkResult,
  type ReconcileResult,
} from '../runtime/reconcile-result.js';
import { summarizeConditions } from '../runtime/summarize.js';
import type { WorkResult } from '../runtime/work-queue.js';
import { CONDITION, REASON } from './conditions.js';
import { rolloutState } from './rollout-status.js';
import { AttestedNameClaims, DEFAULT_ATTESTATION_MAX_AGE_SECONDS, staleAttestation } from './replay-guard.js';
import { foreignStatusWriters } from './status-writers.js';
import { comesFirst, decideOrder, isActive, sameWorkload, WorkloadLocks } from './workload-order.js';
import { WorkloadRequestIndex } from './workload-request-index.js';
import { currentImages, imagePatch, missingContainers, runsImages } from './workload-images.js';

/** Field manager of every write the controller makes. */
export const FIELD_MANAGER = 'keyless-deploy-controller';
/** Annotation on a workload naming the request whose rollback last set its images. */
export const ROLLBACK_ANNOTATION = 'keyless.dev/rollback-of';
/**
 * Annotation on a workload: the images its containers ran before the deploy named by
 * `keyless.dev/deploy-request` (JSON list of {container, image}). Written by the controller in the
 * deploy's own patch; a rollback restores these, never images recorded in the request's status
 * (which someone else could have written).
 */
export const PREVIOUS_IMAGES_ANNOTATION = 'keyless.dev/previous-images';
/** Annotation on a workload: the uid of the request named by `keyless.dev/deploy-request` (or rollback-of). */
const REQUEST_UID_ANNOTATION = 'keyless.dev/deploy-request-uid';
/** Managers whose status writes the controller acts on: itself and the GitHub reporter. */
const TRUSTED_STATUS_MANAGERS = [FIELD_MANAGER, REPORTER_FIELD_MANAGER];

type Request = DeployRequest & KubeObject;

/** `status.requestedBy` of a request applied by hand (source kubernetes): Kubernetes does not say who. */
export const REQUESTED_BY_MANUAL = 'manual';
/** `status.requestedBy` of a request that claims GitHub identity without a valid attestation. */
export const REQUESTED_BY_UNVERIFIED = 'unverified';

/** What the reconciler needs. */
export interface ReconcilerDeps {
  kube: KubeClient;
  attestationKeys: readonly AttestationPublicKey[];
  events: EventRecorder;
  logger: Logger;
  metrics?: Metrics;
  now?: () => Date;
  /**
   * How often a running rollout is looked at again without a workload event (status events of the
   * workload drive it; this is a safety net). A rollout's timeout is checked on time regardless.
   * Default 10 s.
   */
  pollMs?: number;
  /** Aborted when this replica loses leadership: no further writes. */
  signal?: AbortSignal;
  /**
   * DeployPolicies of a namespace from the controller's informer cache (a policy change requeues
   * the namespace's open requests, so the cache is as current as a list). Absent: listed per reconcile.
   */
  policies?: (namespace: string) => DeployPolicy[];
  /** Namespaces the controller acts in (undefined: all); cross-namespace checks list only these. */
  namespaces?: readonly string[];
  /**
   * Seconds a request must be younger than the approval admission policy for its approvals to
   * count (a real API server enforces a new policy only once its informer has it). Default 2;
   * the playground, whose API server enforces a policy from the write that creates it, uses 0.
   */
  approvalAdmissionSettleSeconds?: number;
  /**
   * How long before its creation an attested request's attestation may have been issued (see
   * replay-guard.ts). Default {@link DEFAULT_ATTESTATION_MAX_AGE_SECONDS}.
   */
  attestationMaxAgeSeconds?: number;
  /**
   * Namespace of the claims that let an attested name deploy once (the controller's own; users
   * must not be able to delete Leases there). Default `default`.
   */
  claimNamespace?: string;
  /**
   * The requests of each workload, which the informer feeds (see workload-request-index.ts); the
   * reconciler adds what it reads and writes. Absent: an index of its own, fed by its reads,
   * writes and lists only.
   */
  index?: WorkloadRequestIndex;
  /** Queue a request (`namespace/name`) again: waiting siblings when a deploy ends. */
  requeue?: (key: string) => void;
}

/** How often a request whose approvals cannot be verified looks at the admission policy again. */
const ADMISSION_RECHECK_MS = 60_000;

/** True when two versions of a request differ at most in what the GitHub reporter owns. */
function onlyGitHubReportChanged(before: Request, after: Request): boolean {
  const strip = (request: Request): string => {
    const { github: _github, conditions, ...status } = request.status ?? {};
    const own = (conditions ?? []).filter((condition) => condition.type !== GITHUB_REPORTED);
    return JSON.stringify([request.metadata.uid, request.metadata.generation, request.spec, status, own]);
  };
  return strip(before) === strip(after);
}

/** A step's verdict: go on to the next step, or end the reconcile with a result. */
type Step = typeof NEXT | ReconcileResult;
const NEXT = { kind: 'next' } as const;

/** An Event to record once the status that explains it is written. */
interface PendingEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  /** A phase transition (logged and counted), not a retried error. */
  transition?: DeployPhase;
}

/** The state of one reconcile: the request as last written, and the status being built. */
interface Run {
  request: Request;
  status: DeployRequestStatus;
  identity?: GitHubIdentity;
  policy?: DeployPolicy;
  events: PendingEvent[];
  /** Counted once the status saying so is written. */
  finished?: DeployPhase;
  deployOutcome?: 'succeeded' | 'rolled_back' | 'failed';
}

/** A policy's rollout settings as a deploy records them (no policy: the defaults). */
function appliedSettings(policy: DeployPolicy | undefined): AppliedRolloutSettings {
  const generation = policy?.metadata.generation;
  return {
    ...rolloutSettings(policy ?? ({ spec: {} } as DeployPolicy)),
    ...(generation !== undefined ? { policyGeneration: generation } : {}),
  };
}

function isTerminal(phase: DeployPhase | undefined): boolean {
  return phase !== undefined && TERMINAL_PHASES.includes(phase);
}

/** The controller lacks RBAC to read the admission objects: approvals cannot count, and it says why. */
class ForbiddenRead extends Error {}

/** The message of a request waiting for its first approval. */
function waitingMessage(policy: DeployPolicy, request: Request): string {
  return `waiting for approval by ${describeApprovers(policy.spec.approval?.approvers)} (keyless-deploy approve ${request.metadata.name} -n ${request.metadata.namespace})`;
}

/** The message of a request whose approval or rejection was written by someone who is not an approver. */
function notApproverMessage(
  policy: DeployPolicy,
  approval: Extract<ApprovalDecision, { state: 'waitingForApproval' }>,
): string {
  const who = [...new Set(approval.ignored.map((ignored) => describeApprover(ignored.by)))];
  const what = approval.ignored
    .map((ignored) => `the ${ignored.decision} by ${describeApprover(ignored.by)}`)
    .join(' and ');
  return `waiting for approval: ${who.join(' and ')} ${who.length > 1 ? 'are not approvers' : 'is not an approver'} of DeployPolicy ${policy.metadata.name} (approvers: ${describeApprovers(policy.spec.approval?.approvers)}), so ${what} ${approval.ignored.length > 1 ? 'do' : 'does'} not count`;
}

/** Reconciles one DeployRequest at a time (the queue guarantees one in flight per key). */
export class DeployRequestReconciler {
  private readonly locks = new WorkloadLocks();
  private readonly now: () => Date;
  private readonly pollMs: number;
  private readonly claims: AttestedNameClaims;
  private readonly index: WorkloadRequestIndex;
  /** Namespaces listed in this term (once each, on the first order decision there). */
  private readonly listed = new Map<string, Promise<void>>();

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.pollMs = deps.pollMs ?? 10_000;
    this.claims = new AttestedNameClaims(deps.kube, deps.claimNamespace ?? 'default', this.now);
    this.index = deps.index ?? new WorkloadRequestIndex();
    // One reconciler per leadership term: what an earlier term made active is checked anew.
    this.index.newTerm();
  }

  /** Reconcile `namespace/name`. Throws a {@link GenericError} after showing it on the request. */
  async reconcile(key: string): Promise<WorkResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const started = performance.now();
    try {
      const request = await this.deps.kube
        .get<Request>(RESOURCE_TYPES.deployRequests, namespace, name)
        .catch((error: unknown) => {
          throw genericError(error, `reading DeployRequest ${key}`);
        });
      if (request) this.index.observe(request);
      if (!request || isTerminal(request.status?.phase) || request.metadata.deletionTimestamp)
        return undefined;
      const run: Run = { request, status: structuredClone(request.status ?? {}), events: [] };
      let result: ReconcileResult;
      try {
        result = await this.steps(run);
      } catch (error) {
        const failure = genericError(error);
        // Shown on the status as last written: what the failed step had built is not true yet
        // (a Deploying written outside the per-workload lock would break the one-deploy rule).
        run.status = structuredClone(run.request.status ?? {});
        run.events = [];
        run.finished = undefined;
        run.deployOutcome = undefined;
        await this.summarize(run, failure).catch((writeError: unknown) =>
          this.deps.logger.debug(
            { request: key, err: writeError },
            'could not show the error on the request',
          ),
        );
        throw failure;
      }
      await this.summarize(run, result);
      return toWorkResult(result);
    } finally {
      this.deps.metrics
        ?.histogram('controller_reconcile_duration_seconds', 'Time of one DeployRequest reconcile.')
        .observe((performance.now() - started) / 1000);
    }
  }

  /** The steps, in order, until one ends the reconcile. */
  private async steps(run: Run): Promise<ReconcileResult> {
    for (const step of [
      this.distrustForeignStatus,
      this.verifySource,
      this.authorize,
      this.gates,
      this.order,
      this.deploy,
      this.followRollout,
    ]) {
      const verdict = await step.call(this, run);
      if (verdict.kind !== 'next') return verdict;
    }
    // followRollout always ends the reconcile; this is for the type checker.
    throw new GenericError('the rollout step did not decide');
  }

  /**
   * The deferred summarise step: Ready/Reconciling/Stalled from the outcome, one status write
   * (skipped when nothing changed), then the Events, logs and metrics of what was written.
   */
  private async summarize(run: Run, outcome: ReconcileResult | GenericError): Promise<void> {
    if (this.deps.signal?.aborted) return;
    run.status.conditions = summarizeConditions(
      run.status.conditions,
      outcome,
      run.request.metadata.generation,
      this.now(),
    );
    if (outcome instanceof GenericError)
      run.events.push({ type: 'Warning', reason: outcome.reason, message: outcome.message });
    await this.commit(run);
    if (run.finished)
      this.deps.metrics
        ?.counter(
          'controller_requests_finished_total',
          'DeployRequests that reached a final phase, by phase.',
          ['phase'],
        )
        .inc({ phase: run.finished });
    if (run.deployOutcome)
      this.deps.metrics
        ?.counter('controller_deploys_total', 'Finished deploys by outcome.', ['outcome'])
        .inc({ outcome: run.deployOutcome });
  }

  /** DeployRequests matching a label selector in every namespace the controller may read. */
  private async listEverywhere(type: ResourceType, labelSelector: string): Promise<Request[]> {
    const namespaces = this.deps.namespaces?.length ? this.deps.namespaces : [undefined];
    const lists = await Promise.all(
      namespaces.map((namespace) => this.deps.kube.list<Request>(type, namespace, { labelSelector })),
    ).catch((error: unknown) => {
      throw genericError(error, 'listing DeployRequests of the same token');
    });
    return lists.flatMap((list) => list.items);
  }

  /**
   * Step 0: a status another manager wrote is not acted on (a forged `RollingBack` with chosen
   * `previousImages`, a `Deploying` that skips approval): it is cleared, with a Warning Event, and
   * the request goes through every step again from the start. Clearing removes the other
   * manager's fields, so its managedFields entry goes and the next reconcile trusts the status.
   */
  private async distrustForeignStatus(run: Run): Promise<Step> {
    const writers = foreignStatusWriters(run.request, TRUSTED_STATUS_MANAGERS);
    if (writers.length === 0) return NEXT;
    const reported = getCondition(run.status.conditions, GITHUB_REPORTED);
    run.status = {
      ...(run.status.github ? { github: run.status.github } : {}),
      ...(reported ? { conditions: [reported] } : {}),
    };
    run.events.push({
      type: 'Warning',
      reason: REASON.statusNotTrusted,
      message: `the status was written by ${writers.join(', ')}, not by ${FIELD_MANAGER}: it is ignored and the request is authorised again from the start`,
    });
    await this.commit(run);
    return NEXT;
  }

  /** Step 1: GitHub identity counts only with a valid receiver attestation. */
  private async verifySource(run: Run): Promise<Step> {
    const source = run.request.spec.source;
    // Who asked, for the SOURCE column: only identity the controller has verified.
    if (source.type === 'kubernetes') {
      run.status.requestedBy = REQUESTED_BY_MANUAL;
      return NEXT;
    }
    const result = await verifyAttestation(run.request, this.deps.attestationKeys);
    run.status.requestedBy = result.ok ? (source.github?.repository ?? '') : REQUESTED_BY_UNVERIFIED;
    if (!result.ok) {
      return this.finish(
        run,
        'Denied',
        CONDITION.authorized,
        REASON.attestationInvalid,
        `source ${source.type} claims GitHub identity but ${result.reason}; denied`,
      );
    }
    run.identity = source.github;
    // Once deploying, the request passed the checks below in an earlier reconcile; they are not
    // repeated (each costs API calls per reconcile, and a decision taken must not flip mid-rollout).
    if (isActive(run.status.phase)) return NEXT;
    // A saved attested request created again must not deploy: fresh when created, and the
    // attested name used once (see replay-guard.ts).
    const stale = staleAttestation(
      run.request,
      result.payload.iat,
      this.deps.attestationMaxAgeSeconds ?? DEFAULT_ATTESTATION_MAX_AGE_SECONDS,
    );
    if (stale)
      return this.finish(run, 'Denied', CONDITION.authorized, REASON.attestationExpired, `${stale}; denied`);
    const used = await this.claims.claim(run.request).catch((error: unknown) => {
      throw genericError(error, 'claiming the attested name');
    });
    if (used)
      return this.finish(run, 'Denied', CONDITION.authorized, REASON.attestationReplayed, `${used}; denied`);
    // A token deploys once: the receiver's names make that so within a namespace; across
    // namespaces the earliest request of a token wins and later ones are denied.
    const tokenHash = run.request.metadata.labels?.[LABELS.tokenHash];
    const github = source.github;
    if (tokenHash && github?.tokenId) {
      const candidates = (
        await this.listEverywhere(RESOURCE_TYPES.deployRequests, `${LABELS.tokenHash}=${tokenHash}`)
      ).filter(
        (other) =>
          other.metadata.uid !== run.request.metadata.uid &&
          other.spec.source.github?.tokenId === github.tokenId &&
          other.spec.source.github?.issuer === github.issuer &&
          // The other wins when it already moved past Pending, or when it comes first in
          // (creationTimestamp, namespace, name) order; requests denied for reuse never win.
          getCondition(other.status?.conditions, CONDITION.authorized)?.reason !== REASON.tokenReused &&
          ((other.status?.phase !== undefined && other.status.phase !== 'Pending') ||
            comesFirst(other, run.request)),
      );
      // Only a request whose attestation verifies counts: anyone may label a forged decoy with
      // the token's hash and id, and it must not make the real request TokenReused.
      let first: Request | undefined;
      for (const other of candidates) {
        if ((await verifyAttestation(other, this.deps.attestationKeys)).ok) {
          first = other;
          break;
        }
      }
      if (first) {
        return this.finish(
          run,
          'Denied',
          CONDITION.authorized,
          REASON.tokenReused,
          `the same token already created DeployRequest ${first.metadata.namespace}/${first.metadata.name}; a token deploys once`,
        );
      }
    }
    return NEXT;
  }

  /** Step 2: default-deny policy decision (skipped once the deploy has started). */
  private async authorize(run: Run): Promise<Step> {
    const namespace = run.request.metadata.namespace;
    const policies = this.deps.policies
      ? this.deps.policies(namespace ?? '')
      : (
          await this.deps.kube
            .list<DeployPolicy & KubeObject>(RESOURCE_TYPES.deployPolicies, namespace)
            .catch((error: unknown) => {
              throw genericError(error, 'listing DeployPolicies');
            })
        ).items;
    if (isActive(run.status.phase)) {
      // Authorized when the deploy started, under the settings recorded then: a policy edited or
      // deleted mid-rollout neither strands the workload nor changes its timeout or rollback.
      // (Requests that started before the settings were recorded take them from the policy now.)
      run.status.rolloutSettings ??= appliedSettings(
        policies.find((p) => p.metadata.name === run.status.matchedPolicy),
      );
      return NEXT;
    }
    const decision = evaluatePolicies({
      spec: run.request.spec,
      source: { type: run.request.spec.source.type, identity: run.identity },
      policies,
    });
    if (!decision.allowed) {
      const conditions = [...new Set(decision.reasons.map((reason) => reason.condition))].join(', ');
      return this.finish(
        run,
        'Denied',
        CONDITION.authorized,
        REASON.policyDenied,
        `denied (${conditions}): ${describeDenial(decision.reasons)}`,
      );
    }
    run.policy = decision.policy;
    run.status.matchedPolicy = decision.policy.metadata.name;
    this.condition(
      run,
      CONDITION.authorized,
      'True',
      REASON.policyAllowed,
      `allowed by DeployPolicy ${decision.policy.metadata.name}`,
    );
    return NEXT;
  }

  /** Step 3: approval, deploy windows and freezes (skipped once the deploy has started). */
  private async gates(run: Run): Promise<Step> {
    if (isActive(run.status.phase)) return NEXT;
    const policy = run.policy as DeployPolicy;
    const approval = evaluateApproval(
      policy,
      run.request.metadata.annotations,
      policy.spec.approval?.required ? await this.approvalAdmission(run.request) : undefined,
    );
    if (approval.state === 'rejected') {
      run.status.rejectedBy = describeApprover(approval.by).slice(0, 256); // the schema's maxLength
      return this.finish(
        run,
        'Rejected',
        CONDITION.approved,
        REASON.rejected,
        `rejected by ${describeApprover(approval.by)}`,
      );
    }
    if (approval.state === 'unverifiable') {
      return this.wait(
        run,
        'WaitingForApproval',
        CONDITION.approved,
        'False',
        REASON.approvalNotVerifiable,
        `waiting for approval, but no approval or rejection counts: ${approval.reason}`,
        ADMISSION_RECHECK_MS,
        'Warning',
      );
    }
    if (approval.state === 'waitingForApproval') {
      const ignoring = approval.ignored.length > 0;
      return this.wait(
        run,
        'WaitingForApproval',
        CONDITION.approved,
        'False',
        ignoring ? REASON.notAnApprover : REASON.waitingForApproval,
        ignoring ? notApproverMessage(policy, approval) : waitingMessage(policy, run.request),
        undefined,
        ignoring ? 'Warning' : 'Normal',
      );
    }
    if (approval.state === 'approved') {
      run.status.approvedBy = describeApprover(approval.by).slice(0, 256); // the schema's maxLength
      this.condition(
        run,
        CONDITION.approved,
        'True',
        REASON.approved,
        `approved by ${describeApprover(approval.by)}`,
      );
    }
    const schedule = evaluateSchedule(policy, this.now());
    if (!schedule.open) {
      run.status.waitingUntil = timestamp(schedule.until);
      return this.wait(
        run,
        'Waiting',
        CONDITION.scheduled,
        'False',
        REASON.outsideWindow,
        `${schedule.reason}; waiting until ${timestamp(schedule.until)}`,
        Math.max(1000, schedule.until.getTime() - this.now().getTime()),
      );
    }
    delete run.status.waitingUntil;
    if (policy.spec.windows?.length || policy.spec.freezes?.length)
      this.condition(run, CONDITION.scheduled, 'True', REASON.inWindow, 'inside a deploy window');
    return NEXT;
  }

  /** The DeployRequests of a namespace from the API server (a consistent read). */
  private async listNamespace(namespace: string): Promise<Request[]> {
    return (
      await this.deps.kube.list<Request>(RESOURCE_TYPES.deployRequests, namespace).catch((error: unknown) => {
        throw genericError(error, 'listing the DeployRequests of the workload');
      })
    ).items;
  }

  /**
   * List a namespace once per term, before its first order decision: this term's leadership began
   * after the previous leader's last write, so the list has every phase it wrote even if the
   * informer has not delivered it yet.
   */
  private namespaceListed(namespace: string): Promise<void> {
    let listed = this.listed.get(namespace);
    if (!listed) {
      listed = this.listNamespace(namespace).then((requests) => {
        for (const request of requests) this.index.observe(request);
      });
      this.listed.set(namespace, listed);
      // A failed list is tried again by the next decision.
      listed.catch(() => this.listed.delete(namespace));
    }
    return listed;
  }

  /**
   * Step 4: one deploy per workload; newer authorized requests supersede older waiting ones. The
   * other requests of the workload come from the index; the API server is asked only when the
   * index shows another request active that this controller did not make active itself this term
   * (the index could be behind: it ended, or was deleted).
   */
  private async order(run: Run): Promise<Step> {
    if (isActive(run.status.phase)) return NEXT;
    const { request } = run;
    const target = request.spec.target;
    return this.locks.run(request, async () => {
      await this.namespaceListed(request.metadata.namespace as string);
      let others = this.index
        .requestsOf(request)
        .filter((other) => other.metadata.uid !== request.metadata.uid);
      if (others.some((other) => isActive(other.status?.phase) && !this.index.isActiveByOwnWrite(other))) {
        others = (await this.listNamespace(request.metadata.namespace as string)).filter((other) =>
          sameWorkload(request, other),
        );
        this.index.replaceWorkload(request, others);
      }
      const order = decideOrder(request, others);
      if (order.decision === 'superseded') {
        run.status.supersededBy = order.by.metadata.name;
        return this.finish(
          run,
          'Superseded',
          CONDITION.deployed,
          REASON.superseded,
          `superseded by the newer DeployRequest ${order.by.metadata.name}`,
          'Normal',
        );
      }
      if (order.decision === 'busy') {
        return this.wait(
          run,
          'Queued',
          CONDITION.deployed,
          'False',
          REASON.queued,
          `waiting for DeployRequest ${order.holder.metadata.name} to finish on ${target.kind} ${target.name}`,
          // No poll: the reconcile that ends the holder's deploy queues this request again, and so
          // do the informer's events of the holder (an update, or its deletion).
        );
      }
      // Start the deploy while holding the lock, so no other request for this workload starts too.
      return this.startDeploy(run);
    });
  }

  /**
   * Write-ahead: record the previous images, the rollout settings and phase Deploying before
   * touching the workload.
   */
  private async startDeploy(run: Run): Promise<Step> {
    const { request } = run;
    const workload = await this.workload(run);
    if (!workload) {
      return this.finish(
        run,
        'Failed',
        CONDITION.deployed,
        REASON.targetNotFound,
        `${request.spec.target.kind} ${request.spec.target.name} not found in namespace ${request.metadata.namespace}`,
      );
    }
    const missing = missingContainers(workload, request.spec.images, request.spec.target.kind);
    if (missing.length > 0) {
      return this.finish(
        run,
        'Failed',
        CONDITION.deployed,
        REASON.containerNotFound,
        `${request.spec.target.kind} ${request.spec.target.name} has no container ${missing.join(', ')}`,
      );
    }
    if (runsImages(workload, request.spec.images, request.spec.target.kind)) {
      run.status.completedAt = timestamp(this.now());
      return this.finish(
        run,
        'Succeeded',
        CONDITION.deployed,
        REASON.alreadyUpToDate,
        'the workload already runs the requested images; nothing to do',
        'Normal',
      );
    }
    const current = currentImages(workload, request.spec.target.kind);
    run.status.previousImages = request.spec.images.map(({ container }) => ({
      container,
      image: current.get(container) as string,
    }));
    run.status.startedAt = timestamp(this.now());
    delete run.status.rollbackStartedAt;
    run.status.rolloutSettings = appliedSettings(run.policy);
    delete run.status.deployedGeneration;
    await this.progress(
      run,
      'Deploying',
      CONDITION.deployed,
      'Unknown',
      REASON.deploying,
      `setting ${request.spec.images.map((i) => `${i.container}=${i.image}`).join(', ')}`,
      'Normal',
    );
    return NEXT;
  }

  /** Step 5: patch the workload once (skipped when its annotation shows the patch already happened). */
  private async deploy(run: Run): Promise<Step> {
    if (run.status.deployedGeneration !== undefined) return NEXT;
    const rollingBack = run.status.phase === 'RollingBack';
    const marker = rollingBack ? ROLLBACK_ANNOTATION : ANNOTATIONS.deployRequest;
    const self = `${run.request.metadata.namespace}/${run.request.metadata.name}`;
    const uid = run.request.metadata.uid ?? '';
    const target = run.request.spec.target;
    const workload = await this.workload(run);
    if (!workload) {
      return this.finish(
        run,
        'Failed',
        CONDITION.deployed,
        REASON.targetNotFound,
        `${target.kind} ${target.name} disappeared during the deploy`,
      );
    }
    const annotations = workload.metadata.annotations ?? {};
    let images: ContainerImage[] = run.request.spec.images;
    if (rollingBack) {
      // Restore what the controller recorded on the workload in this request's own deploy patch.
      const recorded = recordedPreviousImages(workload, self, uid, run.request.spec.images);
      if (!recorded) {
        return this.finish(
          run,
          'Failed',
          CONDITION.rolledBack,
          REASON.rollbackNotRecorded,
          `${target.kind} ${target.name} carries no record of a deploy by this request (annotations ${ANNOTATIONS.deployRequest}, ${PREVIOUS_IMAGES_ANNOTATION}): nothing is restored`,
        );
      }
      images = recorded;
      run.status.previousImages = recorded;
    }
    let generation: number;
    if (annotations[marker] === self && annotations[REQUEST_UID_ANNOTATION] === uid) {
      // The patch happened before a restart: do not patch again.
      generation = workload.metadata.generation ?? 1;
    } else {
      this.assertLeading();
      const record: Record<string, string> = { [marker]: self, [REQUEST_UID_ANNOTATION]: uid };
      if (!rollingBack) record[PREVIOUS_IMAGES_ANNOTATION] = JSON.stringify(run.status.previousImages ?? []);
      const patched = await this.deps.kube
        .patch<KubeObject>(
          workloadResourceType(target.kind),
          run.request.metadata.namespace,
          target.name,
          imagePatch(target.kind, images, record),
          'strategic',
          { fieldManager: FIELD_MANAGER },
        )
        .catch((error: unknown) => {
          throw genericError(
            error,
            `${rollingBack ? 'rolling back' : 'patching'} ${target.kind} ${target.name}`,
          );
        });
      generation = patched.metadata.generation ?? 1;
      this.deps.metrics
        ?.counter('controller_workload_patches_total', 'Workload patches made, by kind of patch.', ['kind'])
        .inc({ kind: rollingBack ? 'rollback' : 'deploy' });
      this.deps.logger.info(
        { request: self, workload: target, images, generation, rollback: rollingBack },
        rollingBack ? 'rolled back workload images' : 'patched workload images',
      );
    }
    run.status.deployedGeneration = generation;
    await this.commit(run);
    return NEXT;
  }

  /**
   * Step 6: follow the rollout to available, or fail (and roll back when the settings recorded at
   * the start of the deploy say so).
   */
  private async followRollout(run: Run): Promise<Step> {
    const workload = await this.workload(run);
    if (!workload) {
      return this.finish(
        run,
        'Failed',
        CONDITION.deployed,
        REASON.targetNotFound,
        'the workload disappeared during the rollout',
      );
    }
    const rollingBack = run.status.phase === 'RollingBack';
    const state = rolloutState(workload, run.status.deployedGeneration ?? 1, run.request.spec.target.kind);
    const settings = run.status.rolloutSettings ?? appliedSettings(run.policy);
    // A rollback's timeout runs from the rollback's own start; startedAt keeps the deploy's start.
    const since = rollingBack ? (run.status.rollbackStartedAt ?? run.status.startedAt) : run.status.startedAt;
    const elapsedMs = this.now().getTime() - Date.parse(since ?? timestamp(this.now()));
    const timeoutMs = settings.timeoutSeconds * 1000 * (rollingBack ? 2 : 1);
    const timedOut = state.state === 'progressing' && elapsedMs > timeoutMs;
    if (state.state === 'available') {
      run.status.completedAt = timestamp(this.now());
      run.deployOutcome = rollingBack ? 'rolled_back' : 'succeeded';
      if (rollingBack) {
        return this.finish(
          run,
          'RolledBack',
          CONDITION.rolledBack,
          REASON.rollbackComplete,
          `the rollout failed; restored ${(run.status.previousImages ?? []).map((i) => `${i.container}=${i.image}`).join(', ')}`,
        );
      }
      return this.finish(
        run,
        'Succeeded',
        CONDITION.deployed,
        REASON.rolloutComplete,
        `rolled out ${run.request.spec.images.map((i) => `${i.container}=${i.image}`).join(', ')}`,
        'Normal',
      );
    }
    if (state.state === 'progressing' && !timedOut) {
      run.status.message = `${rollingBack ? 'rolling back' : 'rolling out'}: ${state.message}`;
      return {
        kind: 'waiting',
        reason: REASON.progressing,
        message: state.message,
        // Workload status events drive a rollout; this look is the safety net, and comes at the
        // timeout when that is sooner (a second late at most: timestamps have whole seconds).
        requeueAfterMs: Math.min(this.pollMs, Math.max(timeoutMs - elapsedMs, 0) + 1000),
      };
    }
    const reason = state.state === 'failed' ? REASON.progressDeadlineExceeded : REASON.rolloutTimeout;
    // The workload controller's sentence loses its full stop: the messages go on after it.
    const detail =
      state.state === 'failed'
        ? state.message.replace(/\.$/, '')
        : `rollout did not complete within ${settings.timeoutSeconds}s`;
    if (rollingBack) {
      run.status.completedAt = timestamp(this.now());
      run.deployOutcome = 'failed';
      return this.finish(
        run,
        'Failed',
        CONDITION.rolledBack,
        REASON.rollbackFailed,
        `the rollback did not complete either: ${detail}`,
      );
    }
    if (!settings.rollbackOnFailure) {
      run.status.completedAt = timestamp(this.now());
      run.deployOutcome = 'failed';
      return this.finish(
        run,
        'Failed',
        CONDITION.deployed,
        reason,
        `${detail}; rollbackOnFailure is false, the new images stay`,
      );
    }
    // Write-ahead again: RollingBack with no deployedGeneration, then the rollback patch.
    delete run.status.deployedGeneration;
    run.status.rollbackStartedAt = timestamp(this.now());
    this.condition(run, CONDITION.deployed, 'False', reason, detail);
    await this.progress(
      run,
      'RollingBack',
      CONDITION.rolledBack,
      'Unknown',
      REASON.rollingBack,
      `${detail}; restoring the previous images`,
      'Warning',
    );
    const step = await this.deploy(run);
    return step.kind === 'next'
      ? {
          kind: 'waiting',
          reason: REASON.rollingBack,
          message: `${detail}; restoring the previous images`,
          requeueAfterMs: this.pollMs,
        }
      : step;
  }

  /**
   * Why approval annotations cannot be attributed to their writers (the admission policy and its
   * binding missing, changed, unreadable, or younger than the request), or undefined when they can.
   */
  private async approvalAdmission(request: Request): Promise<string | undefined> {
    const read = async (type: ResourceType): Promise<AdmissionObject | undefined> => {
      try {
        return await this.deps.kube.get<KubeObject & AdmissionObject>(
          type,
          undefined,
          APPROVAL_ADMISSION_NAME,
        );
      } catch (error) {
        if (!isKubeError(error, 403))
          throw genericError(error, `reading ${type.kind} ${APPROVAL_ADMISSION_NAME}`);
        throw new ForbiddenRead(
          `the controller may not read ${type.kind} ${APPROVAL_ADMISSION_NAME} (${error.message}): grant it get on validatingadmissionpolicies and validatingadmissionpolicybindings named ${APPROVAL_ADMISSION_NAME} (the chart does)`,
        );
      }
    };
    try {
      const [policy, binding] = await Promise.all([
        read(RESOURCE_TYPES.validatingAdmissionPolicies),
        read(RESOURCE_TYPES.validatingAdmissionPolicyBindings),
      ]);
      return approvalAdmissionProblem({
        policy,
        binding,
        requestCreated: request.metadata.creationTimestamp,
        settleSeconds: this.deps.approvalAdmissionSettleSeconds ?? 2,
      });
    } catch (error) {
      if (error instanceof ForbiddenRead) return error.message;
      throw error;
    }
  }

  private async workload(run: Run): Promise<KubeObject | undefined> {
    const target = run.request.spec.target;
    return this.deps.kube
      .get<KubeObject>(workloadResourceType(target.kind), run.request.metadata.namespace, target.name)
      .catch((error: unknown) => {
        throw genericError(error, `reading ${target.kind} ${target.name}`);
      });
  }

  private condition(
    run: Run,
    type: string,
    status: Condition['status'],
    reason: string,
    message: string,
  ): void {
    run.status.conditions = setCondition(
      run.status.conditions,
      { type, status, reason, message },
      run.request.metadata.generation,
      this.now(),
    );
  }

  /** Enter a phase: its condition, phase and message, and the Event announcing it (when new). */
  private enter(
    run: Run,
    phase: DeployPhase,
    type: string,
    status: Condition['status'],
    reason: string,
    message: string,
    eventType: 'Normal' | 'Warning',
  ): void {
    const changed = run.status.phase !== phase || run.status.message !== message;
    run.status.phase = phase;
    run.status.message = message;
    this.condition(run, type, status, reason, message);
    if (changed) run.events.push({ type: eventType, reason, message, transition: phase });
  }

  /** Wait in a non-terminal phase (for time when `requeueAfterMs` is given, else for a change). */
  private wait(
    run: Run,
    phase: DeployPhase,
    type: string,
    status: Condition['status'],
    reason: string,
    message: string,
    requeueAfterMs?: number,
    eventType: 'Normal' | 'Warning' = 'Normal',
  ): ReconcileResult {
    this.enter(run, phase, type, status, reason, message, eventType);
    return {
      kind: 'waiting',
      reason,
      message,
      ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
    };
  }

  /**
   * Write-ahead: enter a phase whose side effect follows at once (Deploying, RollingBack), so the
   * status is written now, summarised as waiting, before the step touches the workload.
   */
  private async progress(
    run: Run,
    phase: DeployPhase,
    type: string,
    status: Condition['status'],
    reason: string,
    message: string,
    eventType: 'Normal' | 'Warning',
  ): Promise<void> {
    this.enter(run, phase, type, status, reason, message, eventType);
    run.status.conditions = summarizeConditions(
      run.status.conditions,
      { kind: 'waiting', reason, message },
      run.request.metadata.generation,
      this.now(),
    );
    await this.commit(run);
  }

  /** End in a terminal phase: success for Succeeded, stalling (no retry) for everything else. */
  private finish(
    run: Run,
    phase: DeployPhase,
    type: string,
    reason: string,
    message: string,
    eventType: 'Normal' | 'Warning' = 'Warning',
  ): ReconcileResult {
    const success = phase === 'Succeeded';
    run.status.phase = phase;
    run.status.message = message;
    run.status.completedAt ??= timestamp(this.now());
    // The condition of the step that ended it: True for a success or a completed rollback.
    this.condition(run, type, success || phase === 'RolledBack' ? 'True' : 'False', reason, message);
    run.finished = phase;
    run.events.push({ type: eventType, reason, message, transition: phase });
    return { kind: success ? 'success' : 'stalling', reason, message };
  }

  /** Record the Events (and logs, metrics) of what the last status write made true. */
  private async announce(run: Run): Promise<void> {
    const { request } = run;
    const where = `${request.metadata.namespace}/${request.metadata.name}`;
    for (const event of run.events.splice(0)) {
      if (event.transition) {
        this.deps.logger.info(
          { request: where, phase: event.transition, reason: event.reason },
          event.message,
        );
        this.deps.metrics
          ?.counter('controller_transitions_total', 'Phase transitions of DeployRequests.', ['phase'])
          .inc({ phase: event.transition });
      }
      await this.deps.events.record(request, event.type, event.reason, event.message);
    }
  }

  /**
   * Write the status when it changed, with the resourceVersion read, then announce. A conflict is
   * thrown (the queue retries), except when the only change since the read is what the GitHub
   * reporter owns (`status.github`, the GitHubReported condition): then the write is repeated on
   * the fresh object, keeping the reporter's progress.
   */
  private async commit(run: Run): Promise<void> {
    this.assertLeading();
    run.status.observedGeneration = run.request.metadata.generation;
    if (!isDeepStrictEqual(normalize(run.status), normalize(run.request.status ?? {}))) {
      let written: Request | undefined;
      for (let attempt = 0; !written; attempt++) {
        try {
          written = await this.deps.kube.replace<Request>(
            RESOURCE_TYPES.deployRequests,
            { ...run.request, status: run.status },
            { subresource: 'status', fieldManager: FIELD_MANAGER },
          );
        } catch (error) {
          if (!isKubeError(error, 409) || attempt >= 5) throw genericError(error, 'writing the status');
          const fresh = await this.deps.kube.get<Request>(
            RESOURCE_TYPES.deployRequests,
            run.request.metadata.namespace,
            run.request.metadata.name as string,
          );
          if (!fresh || !onlyGitHubReportChanged(run.request, fresh))
            throw genericError(error, 'writing the status');
          run.request = fresh;
          run.status = withReporterState(run.status, fresh.status);
        }
      }
      const before = run.request.status?.phase;
      run.request = written;
      run.status = structuredClone(written.status ?? {});
      this.index.written(written);
      if (isActive(before) && !isActive(written.status?.phase)) this.requeueSiblings(written);
    }
    await this.announce(run);
  }

  /** A deploy ended: queue the workload's other open requests, which may wait for it. */
  private requeueSiblings(request: Request): void {
    if (!this.deps.requeue) return;
    for (const other of this.index.requestsOf(request))
      if (other.metadata.uid !== request.metadata.uid && !isTerminal(other.status?.phase))
        this.deps.requeue(`${other.metadata.namespace}/${other.metadata.name}`);
  }

  private assertLeading(): void {
    if (this.deps.signal?.aborted) throw new GenericError('not the leader any more; stopping work');
  }
}

/**
 * The images the workload ran before `self`'s deploy, as the controller recorded them on the
 * workload in that deploy's patch (only for the request's own containers); undefined when the
 * workload's last deploy was not this request's (by name and uid) or the record is unreadable.
 */
function recordedPreviousImages(
  workload: KubeObject,
  self: string,
  uid: string,
  requested: readonly ContainerImage[],
): ContainerImage[] | undefined {
  const annotations = workload.metadata.annotations ?? {};
  if (annotations[ANNOTATIONS.deployRequest] !== self || annotations[REQUEST_UID_ANNOTATION] !== uid)
    return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(annotations[PREVIOUS_IMAGES_ANNOTATION] ?? '');
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const containers = new Set(requested.map((entry) => entry.container));
  const images = parsed.filter(
    (entry): entry is ContainerImage =>
      typeof entry === 'object' &&
      entry !== null &&
      typeof (entry as ContainerImage).container === 'string' &&
      typeof (entry as ContainerImage).image === 'string' &&
      containers.has((entry as ContainerImage).container),
  );
  return images.length === containers.size ? images : undefined;
}

/** JSON shape of a status (no undefined members), to compare what was read with what was built. */
function normalize(status: DeployRequestStatus): unknown {
  return JSON.parse(JSON.stringify(status)) as unknown;
}

/** `status` with the GitHub reporter's part (`github`, the GitHubReported condition) taken from `fresh`. */
function withReporterState(
  status: DeployRequestStatus,
  fresh: DeployRequestStatus | undefined,
): DeployRequestStatus {
  const reported = getCondition(fresh?.conditions, GITHUB_REPORTED);
  const own = (status.conditions ?? []).filter((condition) => condition.type !== GITHUB_REPORTED);
  const next: DeployRequestStatus = { ...status, conditions: reported ? [...own, reported] : own };
  if (fresh?.github) next.github = fresh.github;
  return next;
}
