/**
 * The DeployRequest reconciler, in the Flux shape: fetch the request from the API server, snapshot
 * its status, run ordered steps (source -> policy -> gates -> ordering -> deploy -> rollout) that
 * stop at the first one that finishes, waits or fails, and write status (plus Events) for every
 * transition. Status is written BEFORE each side effect (write-ahead), and every patch of a
 * workload carries an annotation naming the request, so a controller stopped at any point resumes
 * without patching twice or losing the request.
 */
import {
  ANNOTATIONS,
  LABELS,
  TERMINAL_PHASES,
  type ContainerImage,
  type DeployPhase,
  type DeployPolicy,
  type DeployRequest,
  type DeployRequestStatus,
  type GitHubIdentity,
} from '../api/types.js';
import { verifyAttestation, type AttestationPublicKey } from '../attestation/index.js';
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
import { CONDITION, REASON, setCondition } from './conditions.js';
import type { EventRecorder } from './event-recorder.js';
import { rolloutState } from './rollout-status.js';
import type { WorkResult } from './work-queue.js';
import { currentImages, imagePatch, missingContainers, runsImages } from './workload-images.js';

/** Field manager of every write the controller makes. */
export const FIELD_MANAGER = 'keyless-deploy-controller';
/** Annotation on a workload naming the request whose rollback last set its images. */
export const ROLLBACK_ANNOTATION = 'keyless.dev/rollback-of';

type Request = DeployRequest & KubeObject;

/** `status.requestedBy` of a request applied by hand (source kubernetes): Kubernetes does not say who. */
export const REQUESTED_BY_MANUAL = 'manual';
/** `status.requestedBy` of a request that claims GitHub identity without a valid attestation. */
export const REQUESTED_BY_UNVERIFIED = 'unverified';

/** Phases in which a request holds its workload. */
const ACTIVE: readonly DeployPhase[] = ['Deploying', 'RollingBack'];
/** Phases of requests that passed authorization and gates (they supersede older queued ones). */
const PAST_GATES: readonly DeployPhase[] = [
  'Queued',
  'Deploying',
  'RollingBack',
  'Succeeded',
  'Failed',
  'RolledBack',
];

export interface ReconcilerDeps {
  kube: KubeClient;
  attestationKeys: readonly AttestationPublicKey[];
  events: EventRecorder;
  logger: Logger;
  metrics?: Metrics;
  now?: () => Date;
  /** How often a running rollout is re-checked (workload watch events also trigger it). Default 1 s. */
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
  /** Called after each status write (tests stop the controller here to prove crash safety). */
  afterStatusWrite?: (request: Request) => Promise<void> | void;
  /**
   * Seconds a request must be younger than the approval admission policy for its approvals to
   * count (a real API server enforces a new policy only once its informer has it). Default 2;
   * the playground, whose API server enforces a policy from the write that creates it, uses 0.
   */
  approvalAdmissionSettleSeconds?: number;
}

/** How often a request whose approvals cannot be verified looks at the admission policy again. */
const ADMISSION_RECHECK_MS = 60_000;

/** True when two versions of a request differ in `status.github` at most. */
function onlyGitHubReportChanged(before: Request, after: Request): boolean {
  const strip = (request: Request): string => {
    const { github: _github, ...status } = request.status ?? {};
    return JSON.stringify([request.metadata.uid, request.metadata.generation, request.spec, status]);
  };
  return strip(before) === strip(after);
}

/** A step's verdict: go on, or stop here (optionally asking to run again later). */
type Step = { next: true } | { next: false; requeueAfterMs?: number };
const NEXT: Step = { next: true };
const stop = (requeueAfterMs?: number): Step => ({
  next: false,
  ...(requeueAfterMs !== undefined ? { requeueAfterMs } : {}),
});

/** The state of one reconcile: the request as last written, and the status being built. */
interface Run {
  request: Request;
  status: DeployRequestStatus;
  identity?: GitHubIdentity;
  policy?: DeployPolicy;
}

/** Per-workload lock: ordering decisions and the start of a deploy are serialised per workload. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const current = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => current);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

function isTerminal(phase: DeployPhase | undefined): boolean {
  return phase !== undefined && TERMINAL_PHASES.includes(phase);
}

function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** When a request was made: the receiver's millisecond `requestedAt`, else its creationTimestamp. */
function requestTime(request: Request): number {
  const requested = Date.parse(request.spec.requestedAt ?? '');
  return Number.isFinite(requested) ? requested : Date.parse(request.metadata.creationTimestamp ?? '');
}

/** Newer means requested later; the same millisecond: name order (deterministic across replicas). */
function isNewer(a: Request, b: Request): boolean {
  const ta = requestTime(a);
  const tb = requestTime(b);
  if (
    Number.isFinite(Date.parse(a.spec.requestedAt ?? '')) !==
    Number.isFinite(Date.parse(b.spec.requestedAt ?? ''))
  ) {
    // One time has milliseconds, the other (a creationTimestamp) whole seconds: within one second
    // their order is unknown, and neither supersedes the other on a guess (both deploy, in turn).
    const [sa, sb] = [Math.floor(ta / 1000), Math.floor(tb / 1000)];
    return sa > sb;
  }
  return ta !== tb ? ta > tb : (a.metadata.name ?? '') > (b.metadata.name ?? '');
}

/** Total order of requests: creationTimestamp, then namespace, then name. */
function comesFirst(a: Request, b: Request): boolean {
  const key = (r: Request): string =>
    `${r.metadata.creationTimestamp ?? ''}/${r.metadata.namespace ?? ''}/${r.metadata.name ?? ''}`;
  return key(a) < key(b);
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
  private readonly lock = new KeyedLock();
  private readonly now: () => Date;
  private readonly pollMs: number;

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
    this.pollMs = deps.pollMs ?? 1000;
  }

  /** Reconcile `namespace/name`. Throws for transient errors (the queue retries with backoff). */
  async reconcile(key: string): Promise<WorkResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const started = performance.now();
    const request = await this.deps.kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name);
    if (!request || isTerminal(request.status?.phase) || request.metadata.deletionTimestamp) return undefined;
    const run: Run = { request, status: structuredClone(request.status ?? {}) };
    try {
      for (const step of [
        this.verifySource,
        this.authorize,
        this.gates,
        this.order,
        this.deploy,
        this.followRollout,
      ]) {
        const verdict = await step.call(this, run);
        if (!verdict.next)
          return verdict.requeueAfterMs !== undefined
            ? { requeueAfterMs: verdict.requeueAfterMs }
            : undefined;
      }
      return undefined;
    } finally {
      this.deps.metrics
        ?.histogram('controller_reconcile_duration_seconds', 'Time of one DeployRequest reconcile.')
        .observe((performance.now() - started) / 1000);
    }
  }

  /** DeployRequests matching a label selector in every namespace the controller may read. */
  private async listEverywhere(type: ResourceType, labelSelector: string): Promise<Request[]> {
    const namespaces = this.deps.namespaces?.length ? this.deps.namespaces : [undefined];
    const lists = await Promise.all(
      namespaces.map((namespace) => this.deps.kube.list<Request>(type, namespace, { labelSelector })),
    );
    return lists.flatMap((list) => list.items);
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
      await this.finish(
        run,
        'Denied',
        CONDITION.authorized,
        REASON.attestationInvalid,
        `source ${source.type} claims GitHub identity but ${result.reason}; denied`,
      );
      return stop();
    }
    run.identity = source.github;
    // A token deploys once: the receiver's names make that so within a namespace; across
    // namespaces the earliest request of a token wins and later ones are denied.
    const tokenHash = run.request.metadata.labels?.[LABELS.tokenHash];
    const github = source.github;
    if (tokenHash && github?.tokenId) {
      const sameToken = (
        await this.listEverywhere(RESOURCE_TYPES.deployRequests, `${LABELS.tokenHash}=${tokenHash}`)
      ).filter(
        (other) =>
          other.metadata.uid !== run.request.metadata.uid &&
          other.spec.source.github?.tokenId === github.tokenId &&
          other.spec.source.github?.issuer === github.issuer &&
          // The other wins when it already moved past Pending, or when it comes first in
          // (creationTimestamp, namespace, name) order; requests denied for reuse never win.
          other.status?.conditions?.find((c) => c.type === CONDITION.authorized)?.reason !==
            REASON.tokenReused &&
          ((other.status?.phase !== undefined && other.status.phase !== 'Pending') ||
            comesFirst(other, run.request)),
      );
      const first = sameToken[0];
      if (first) {
        await this.finish(
          run,
          'Denied',
          CONDITION.authorized,
          REASON.tokenReused,
          `the same token already created DeployRequest ${first.metadata.namespace}/${first.metadata.name}; a token deploys once`,
        );
        return stop();
      }
    }
    return NEXT;
  }

  /** Step 2: default-deny policy decision. */
  private async authorize(run: Run): Promise<Step> {
    const namespace = run.request.metadata.namespace;
    const policies = this.deps.policies
      ? this.deps.policies(namespace ?? '')
      : (await this.deps.kube.list<DeployPolicy & KubeObject>(RESOURCE_TYPES.deployPolicies, namespace))
          .items;
    if (ACTIVE.includes(run.status.phase as DeployPhase)) {
      // Authorized when the deploy started; a policy edited mid-rollout does not strand the workload.
      run.policy = policies.find((p) => p.metadata.name === run.status.matchedPolicy) ?? {
        apiVersion: 'keyless.dev/v1alpha1',
        kind: 'DeployPolicy',
        metadata: { name: run.status.matchedPolicy ?? '' },
        spec: { targets: [], images: { repositories: [] } },
      };
      return NEXT;
    }
    const decision = evaluatePolicies({
      spec: run.request.spec,
      source: { type: run.request.spec.source.type, identity: run.identity },
      policies,
    });
    if (!decision.allowed) {
      const conditions = [...new Set(decision.reasons.map((reason) => reason.condition))].join(', ');
      await this.finish(
        run,
        'Denied',
        CONDITION.authorized,
        REASON.policyDenied,
        `denied (${conditions}): ${describeDenial(decision.reasons)}`,
      );
      return stop();
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
    if (ACTIVE.includes(run.status.phase as DeployPhase)) return NEXT;
    const policy = run.policy as DeployPolicy;
    const approval = evaluateApproval(
      policy,
      run.request.metadata.annotations,
      policy.spec.approval?.required ? await this.approvalAdmission(run.request) : undefined,
    );
    if (approval.state === 'rejected') {
      run.status.rejectedBy = describeApprover(approval.by).slice(0, 256); // the schema's maxLength
      await this.finish(
        run,
        'Rejected',
        CONDITION.approved,
        REASON.rejected,
        `rejected by ${describeApprover(approval.by)}`,
      );
      return stop();
    }
    if (approval.state === 'unverifiable') {
      await this.transition(
        run,
        'WaitingForApproval',
        CONDITION.approved,
        'False',
        REASON.approvalNotVerifiable,
        `waiting for approval, but no approval or rejection counts: ${approval.reason}`,
        'Warning',
      );
      return stop(ADMISSION_RECHECK_MS);
    }
    if (approval.state === 'waitingForApproval') {
      const ignoring = approval.ignored.length > 0;
      await this.transition(
        run,
        'WaitingForApproval',
        CONDITION.approved,
        'False',
        ignoring ? REASON.notAnApprover : REASON.waitingForApproval,
        ignoring ? notApproverMessage(policy, approval) : waitingMessage(policy, run.request),
        ignoring ? 'Warning' : 'Normal',
      );
      return stop();
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
      await this.transition(
        run,
        'Waiting',
        CONDITION.scheduled,
        'False',
        REASON.outsideWindow,
        `${schedule.reason}; waiting until ${timestamp(schedule.until)}`,
        'Normal',
      );
      return stop(Math.max(1000, schedule.until.getTime() - this.now().getTime()));
    }
    delete run.status.waitingUntil;
    if (policy.spec.windows?.length || policy.spec.freezes?.length)
      this.condition(run, CONDITION.scheduled, 'True', REASON.inWindow, 'inside a deploy window');
    return NEXT;
  }

  /** Step 4: one deploy per workload; newer authorized requests supersede older waiting ones. */
  private async order(run: Run): Promise<Step> {
    if (ACTIVE.includes(run.status.phase as DeployPhase)) return NEXT;
    const { request } = run;
    const target = request.spec.target;
    return this.lock.run(`${request.metadata.namespace}/${target.kind}/${target.name}`, async () => {
      const others = (
        await this.deps.kube.list<Request>(RESOURCE_TYPES.deployRequests, request.metadata.namespace)
      ).items.filter(
        (other) =>
          other.metadata.name !== request.metadata.name &&
          other.spec.target.kind === target.kind &&
          other.spec.target.name === target.name,
      );
      const newer = others.filter(
        (other) => isNewer(other, request) && PAST_GATES.includes(other.status?.phase as DeployPhase),
      );
      if (newer.length > 0) {
        const newest = newer.reduce((a, b) => (isNewer(b, a) ? b : a));
        run.status.supersededBy = newest.metadata.name;
        await this.finish(
          run,
          'Superseded',
          CONDITION.deployed,
          REASON.superseded,
          `superseded by the newer DeployRequest ${newest.metadata.name}`,
          'Normal',
        );
        return stop();
      }
      const busy = others.find((other) => ACTIVE.includes(other.status?.phase as DeployPhase));
      if (busy) {
        await this.transition(
          run,
          'Queued',
          CONDITION.deployed,
          'False',
          REASON.queued,
          `waiting for DeployRequest ${busy.metadata.name} to finish on ${target.kind} ${target.name}`,
          'Normal',
        );
        return stop(this.pollMs * 2);
      }
      // Start the deploy while holding the lock, so no other request for this workload starts too.
      return this.startDeploy(run);
    });
  }

  /** Write-ahead: record the previous images and phase Deploying before touching the workload. */
  private async startDeploy(run: Run): Promise<Step> {
    const { request } = run;
    const workload = await this.workload(run);
    if (!workload) {
      await this.finish(
        run,
        'Failed',
        CONDITION.deployed,
        REASON.targetNotFound,
        `${request.spec.target.kind} ${request.spec.target.name} not found in namespace ${request.metadata.namespace}`,
      );
      return stop();
    }
    const missing = missingContainers(workload, request.spec.images);
    if (missing.length > 0) {
      await this.finish(
        run,
        'Failed',
        CONDITION.deployed,
        REASON.containerNotFound,
        `${request.spec.target.kind} ${request.spec.target.name} has no container ${missing.join(', ')}`,
      );
      return stop();
    }
    if (runsImages(workload, request.spec.images)) {
      run.status.completedAt = timestamp(this.now());
      await this.finish(
        run,
        'Succeeded',
        CONDITION.deployed,
        REASON.alreadyUpToDate,
        'the workload already runs the requested images; nothing to do',
        'Normal',
      );
      return stop();
    }
    const current = currentImages(workload);
    run.status.previousImages = request.spec.images.map(({ container }) => ({
      container,
      image: current.get(container) as string,
    }));
    run.status.startedAt = timestamp(this.now());
    delete run.status.rollbackStartedAt;
    delete run.status.deployedGeneration;
    await this.transition(
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
    const images: ContainerImage[] = rollingBack
      ? (run.status.previousImages ?? [])
      : run.request.spec.images;
    const marker = rollingBack ? ROLLBACK_ANNOTATION : ANNOTATIONS.deployRequest;
    const self = `${run.request.metadata.namespace}/${run.request.metadata.name}`;
    const workload = await this.workload(run);
    if (!workload) {
      await this.finish(
        run,
        'Failed',
        CONDITION.deployed,
        REASON.targetNotFound,
        `${run.request.spec.target.kind} ${run.request.spec.target.name} disappeared during the deploy`,
      );
      return stop();
    }
    let generation: number;
    if (
      workload.metadata.annotations?.[marker] === self &&
      workload.metadata.annotations?.['keyless.dev/deploy-request-uid'] === run.request.metadata.uid
    ) {
      // The patch happened before a restart: do not patch again.
      generation = workload.metadata.generation ?? 1;
    } else {
      this.assertLeading();
      const patched = await this.deps.kube.patch<KubeObject>(
        workloadResourceType(run.request.spec.target.kind),
        run.request.metadata.namespace,
        run.request.spec.target.name,
        imagePatch(run.request.spec.target.kind, images, {
          [marker]: self,
          'keyless.dev/deploy-request-uid': run.request.metadata.uid ?? '',
        }),
        'strategic',
        { fieldManager: FIELD_MANAGER },
      );
      generation = patched.metadata.generation ?? 1;
      this.deps.metrics
        ?.counter('controller_workload_patches_total', 'Workload patches made, by kind of patch.', ['kind'])
        .inc({ kind: rollingBack ? 'rollback' : 'deploy' });
      this.deps.logger.info(
        { request: self, workload: run.request.spec.target, images, generation, rollback: rollingBack },
        rollingBack ? 'rolled back workload images' : 'patched workload images',
      );
    }
    run.status.deployedGeneration = generation;
    await this.commit(run);
    return NEXT;
  }

  /** Step 6: follow the rollout to available, or fail (and roll back if the policy says so). */
  private async followRollout(run: Run): Promise<Step> {
    const workload = await this.workload(run);
    if (!workload) {
      await this.finish(
        run,
        'Failed',
        CONDITION.deployed,
        REASON.targetNotFound,
        'the workload disappeared during the rollout',
      );
      return stop();
    }
    const rollingBack = run.status.phase === 'RollingBack';
    const state = rolloutState(workload, run.status.deployedGeneration ?? 1);
    const settings = rolloutSettings(run.policy as DeployPolicy);
    // A rollback's timeout runs from the rollback's own start; startedAt keeps the deploy's start.
    const since = rollingBack ? (run.status.rollbackStartedAt ?? run.status.startedAt) : run.status.startedAt;
    const elapsedMs = this.now().getTime() - Date.parse(since ?? timestamp(this.now()));
    const timedOut =
      state.state === 'progressing' && elapsedMs > settings.timeoutSeconds * 1000 * (rollingBack ? 2 : 1);
    if (state.state === 'available') {
      run.status.completedAt = timestamp(this.now());
      if (rollingBack) {
        await this.finish(
          run,
          'RolledBack',
          CONDITION.rolledBack,
          REASON.rollbackComplete,
          `the rollout failed; restored ${(run.status.previousImages ?? []).map((i) => `${i.container}=${i.image}`).join(', ')}`,
        );
      } else {
        await this.finish(
          run,
          'Succeeded',
          CONDITION.deployed,
          REASON.rolloutComplete,
          `rolled out ${run.request.spec.images.map((i) => `${i.container}=${i.image}`).join(', ')}`,
          'Normal',
        );
      }
      this.countDeploy(rollingBack ? 'rolled_back' : 'succeeded');
      return stop();
    }
    if (state.state === 'progressing' && !timedOut) {
      this.condition(run, CONDITION.reconciling, 'True', REASON.progressing, state.message);
      run.status.message = `${rollingBack ? 'rolling back' : 'rolling out'}: ${state.message}`;
      await this.commit(run);
      return stop(this.pollMs);
    }
    const reason = state.state === 'failed' ? REASON.progressDeadlineExceeded : REASON.rolloutTimeout;
    const detail =
      state.state === 'failed'
        ? state.message
        : `rollout did not complete within ${settings.timeoutSeconds}s`;
    if (rollingBack) {
      run.status.completedAt = timestamp(this.now());
      await this.finish(
        run,
        'Failed',
        CONDITION.rolledBack,
        REASON.rollbackFailed,
        `the rollback did not complete either: ${detail}`,
      );
      this.countDeploy('failed');
      return stop();
    }
    if (!settings.rollbackOnFailure) {
      run.status.completedAt = timestamp(this.now());
      await this.finish(
        run,
        'Failed',
        CONDITION.deployed,
        reason,
        `${detail}; rollbackOnFailure is false, the new images stay`,
      );
      this.countDeploy('failed');
      return stop();
    }
    // Write-ahead again: RollingBack with no deployedGeneration, then the rollback patch.
    delete run.status.deployedGeneration;
    run.status.rollbackStartedAt = timestamp(this.now());
    this.condition(run, CONDITION.deployed, 'False', reason, detail);
    await this.transition(
      run,
      'RollingBack',
      CONDITION.rolledBack,
      'Unknown',
      REASON.rollingBack,
      `${detail}; restoring the previous images`,
      'Warning',
    );
    const step = await this.deploy(run);
    return step.next ? stop(this.pollMs) : step;
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
        if (!isKubeError(error, 403)) throw error;
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
    return this.deps.kube.get<KubeObject>(
      workloadResourceType(target.kind),
      run.request.metadata.namespace,
      target.name,
    );
  }

  private condition(
    run: Run,
    type: string,
    status: 'True' | 'False' | 'Unknown',
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

  /** Move to a non-terminal phase: condition, phase, message, status write, Event, log. */
  private async transition(
    run: Run,
    phase: DeployPhase,
    type: string,
    status: 'True' | 'False' | 'Unknown',
    reason: string,
    message: string,
    eventType: 'Normal' | 'Warning',
  ): Promise<void> {
    const changed = run.status.phase !== phase || run.status.message !== message;
    run.status.phase = phase;
    run.status.message = message;
    this.condition(run, type, status, reason, message);
    this.condition(run, CONDITION.ready, 'False', reason, message);
    this.condition(run, CONDITION.reconciling, 'True', reason, message);
    await this.commit(run);
    if (changed) await this.announce(run, eventType, reason, message, phase);
  }

  /** Move to a terminal phase. */
  private async finish(
    run: Run,
    phase: DeployPhase,
    type: string,
    reason: string,
    message: string,
    eventType: 'Normal' | 'Warning' = 'Warning',
  ): Promise<void> {
    const success = phase === 'Succeeded';
    run.status.phase = phase;
    run.status.message = message;
    run.status.completedAt ??= timestamp(this.now());
    // The condition of the step that ended it: True for a success or a completed rollback.
    this.condition(run, type, success || phase === 'RolledBack' ? 'True' : 'False', reason, message);
    this.condition(run, CONDITION.ready, success ? 'True' : 'False', reason, message);
    this.condition(run, CONDITION.reconciling, 'False', reason, message);
    this.condition(
      run,
      CONDITION.stalled,
      success ? 'False' : 'True',
      reason,
      success ? 'finished' : message,
    );
    await this.commit(run);
    this.deps.metrics
      ?.counter(
        'controller_requests_finished_total',
        'DeployRequests that reached a final phase, by phase.',
        ['phase'],
      )
      .inc({ phase });
    await this.announce(run, eventType, reason, message, phase);
  }

  private async announce(
    run: Run,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
    phase: DeployPhase,
  ): Promise<void> {
    const { request } = run;
    this.deps.logger.info(
      { request: `${request.metadata.namespace}/${request.metadata.name}`, phase, reason },
      message,
    );
    this.deps.metrics
      ?.counter('controller_transitions_total', 'Phase transitions of DeployRequests.', ['phase'])
      .inc({ phase });
    await this.deps.events.record(request, type, reason, message);
  }

  /**
   * One status write with the resourceVersion read. A conflict is thrown (the queue retries), except
   * when the only change since the read is `status.github`, which the GitHub reporter owns: then the
   * write is repeated on the fresh object, keeping the reporter's progress.
   */
  private async commit(run: Run): Promise<void> {
    this.assertLeading();
    run.status.observedGeneration = run.request.metadata.generation;
    let written: Request | undefined;
    for (let attempt = 0; !written; attempt++) {
      try {
        written = await this.deps.kube.replace<Request>(
          RESOURCE_TYPES.deployRequests,
          { ...run.request, status: run.status },
          { subresource: 'status', fieldManager: FIELD_MANAGER },
        );
      } catch (error) {
        if (!isKubeError(error, 409) || attempt >= 5) throw error;
        const fresh = await this.deps.kube.get<Request>(
          RESOURCE_TYPES.deployRequests,
          run.request.metadata.namespace,
          run.request.metadata.name as string,
        );
        if (!fresh || !onlyGitHubReportChanged(run.request, fresh)) throw error;
        run.request = fresh;
        run.status = { ...run.status, ...(fresh.status?.github ? { github: fresh.status.github } : {}) };
      }
    }
    run.request = written;
    run.status = structuredClone(written.status ?? {});
    await this.deps.afterStatusWrite?.(written);
  }

  private countDeploy(outcome: 'succeeded' | 'rolled_back' | 'failed'): void {
    this.deps.metrics
      ?.counter('controller_deploys_total', 'Finished deploys by outcome.', ['outcome'])
      .inc({ outcome });
  }

  private assertLeading(): void {
    if (this.deps.signal?.aborted) throw new Error('not the leader any more; stopping work');
  }
}
