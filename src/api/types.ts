/**
 * TypeScript shapes of the keyless.dev/v1alpha1 API (DeployRequest, DeployPolicy).
 *
 * These mirror the structural schemas in `crds/`; `test/api/types-match-crds.test.ts` fails when
 * the two disagree, so change both together.
 */

/** API group of every keyless-deploy custom resource. */
export const GROUP = 'keyless.dev';
/** API version served and stored. */
export const VERSION = 'v1alpha1';
/** `apiVersion` field value of keyless-deploy objects. */
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Minimal ObjectMeta: the fields this project reads or writes. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<Record<string, unknown>>;
  /** Which manager set which fields (read by the controller to tell who wrote a status). */
  managedFields?: Array<Record<string, unknown>>;
}

/** metav1.Condition. `lastTransitionTime` changes only when `status` changes (a real transition). */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/** Workload kinds a DeployRequest may target. */
export type WorkloadKind = 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'CronJob';
/** Every workload kind, in the order the CRD's enum lists them. */
export const WORKLOAD_KINDS: readonly WorkloadKind[] = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'];

/** Where a DeployRequest came from. Only receiver-attested requests carry GitHub identity. */
export type SourceType = 'github-oidc' | 'github-deployment' | 'kubernetes';

/**
 * Verified GitHub identity, camelCased from the OIDC token's claims (or, for
 * `github-deployment`, from the signed webhook payload). All values are strings, as GitHub sends them.
 */
export interface GitHubIdentity {
  issuer: string;
  subject?: string;
  repository: string;
  repositoryId: string;
  repositoryOwner: string;
  repositoryOwnerId: string;
  repositoryVisibility?: string;
  ref?: string;
  refType?: string;
  sha?: string;
  workflow?: string;
  workflowRef?: string;
  jobWorkflowRef?: string;
  environment?: string;
  eventName?: string;
  runId?: string;
  runAttempt?: string;
  runNumber?: string;
  actor?: string;
  actorId?: string;
  runnerEnvironment?: string;
  /** Token id (`jti`) for github-oidc; the delivery id (`X-GitHub-Delivery`) for github-deployment. */
  tokenId?: string;
  /** GitHub deployment id, for github-deployment requests. */
  deploymentId?: string;
}

/** Where a request came from, and the receiver's attestation when it came from GitHub. */
export interface DeployRequestSource {
  type: SourceType;
  github?: GitHubIdentity;
  /** Compact JWS by the receiver over the canonical spec (see src/attestation). */
  attestation?: string;
}

/** The workload a request deploys to, in the request's namespace. */
export interface TargetRef {
  kind: WorkloadKind;
  name: string;
}

/** One container of the workload and the image it should run. */
export interface ContainerImage {
  container: string;
  image: string;
}

/** What a DeployRequest asks for; it never changes after creation. */
export interface DeployRequestSpec {
  target: TargetRef;
  images: ContainerImage[];
  environment?: string;
  reason?: string;
  payload?: Record<string, unknown>;
  /**
   * When the receiver accepted the request (RFC 3339, milliseconds), covered by the attestation.
   * Orders requests to one workload that were created within the same second.
   */
  requestedAt?: string;
  source: DeployRequestSource;
}

/** Where a request is in its life (see docs/architecture.md for the transitions). */
export type DeployPhase =
  | 'Pending'
  | 'WaitingForApproval'
  | 'Waiting'
  | 'Queued'
  | 'Deploying'
  | 'RollingBack'
  | 'Succeeded'
  | 'Failed'
  | 'RolledBack'
  | 'Denied'
  | 'Rejected'
  | 'Superseded';

/** Every phase, in the order the CRD's enum lists them. */
export const DEPLOY_PHASES: readonly DeployPhase[] = [
  'Pending',
  'WaitingForApproval',
  'Waiting',
  'Queued',
  'Deploying',
  'RollingBack',
  'Succeeded',
  'Failed',
  'RolledBack',
  'Denied',
  'Rejected',
  'Superseded',
];

/** Phases after which nothing more happens to a request. */
export const TERMINAL_PHASES: readonly DeployPhase[] = [
  'Succeeded',
  'Failed',
  'RolledBack',
  'Denied',
  'Rejected',
  'Superseded',
];

/** Progress of GitHub reporting, kept in status so a restarted controller neither loses nor repeats a report. */
export interface GitHubReportStatus {
  deploymentId?: string;
  deploymentUrl?: string;
  /** GitHub deployment status states already delivered, in order. */
  reportedStates?: string[];
  lastError?: string;
}

/**
 * The rollout settings a deploy runs under, fixed when the request enters `Deploying`: a policy
 * edited or deleted mid-rollout changes neither the timeout nor whether a failure is rolled back.
 */
export interface AppliedRolloutSettings {
  /** How long the rollout may take before it counts as failed (a rollback gets twice as long). */
  timeoutSeconds: number;
  /** Whether a failed rollout is rolled back to the previous images. */
  rollbackOnFailure: boolean;
  /** `metadata.generation` of the matched DeployPolicy the settings were taken from. */
  policyGeneration?: number;
}

/** A DeployRequest's progress, written by the controller (and `github` by the GitHub reporter). */
export interface DeployRequestStatus {
  phase?: DeployPhase;
  message?: string;
  observedGeneration?: number;
  conditions?: Condition[];
  matchedPolicy?: string;
  previousImages?: ContainerImage[];
  /** Workload generation produced by this request's patch (rollout is followed from here). */
  deployedGeneration?: number;
  /** The rollout settings in force from `Deploying` to the end (see {@link AppliedRolloutSettings}). */
  rolloutSettings?: AppliedRolloutSettings;
  /** When the deploy started (kept when a rollback follows). */
  startedAt?: string;
  /** When the rollback of a failed deploy started; its rollout timeout runs from here. */
  rollbackStartedAt?: string;
  completedAt?: string;
  /**
   * Who asked, as the controller verified it: the GitHub repository of an attested request,
   * `manual` for one applied by hand (source kubernetes), `unverified` for a forged claim. The SOURCE column.
   */
  requestedBy?: string;
  /** Until when a deploy window or freeze holds the request. */
  waitingUntil?: string;
  supersededBy?: string;
  approvedBy?: string;
  rejectedBy?: string;
  github?: GitHubReportStatus;
}

/** A request for new container images on one workload (`kubectl get dr`). */
export interface DeployRequest {
  apiVersion: typeof API_VERSION;
  kind: 'DeployRequest';
  metadata: ObjectMeta;
  spec: DeployRequestSpec;
  status?: DeployRequestStatus;
}

/** Which workloads a policy governs. */
export interface PolicyTarget {
  kind: WorkloadKind;
  /** Workload name; exact, or `glob:` prefix for a pattern. */
  name: string;
  /** Containers whose image may be set; empty or absent means none. `*` means every container. */
  containers: string[];
}

/**
 * Who may deploy: every field that is set must match the verified identity. Values are exact
 * unless written `glob:PATTERN` (`*` matches within a path segment, `**` across `/`).
 */
export interface PolicySubject {
  issuer?: string;
  repositoryId?: string;
  repositoryOwnerId?: string;
  repository?: string;
  repositoryOwner?: string;
  ref?: string;
  refType?: string;
  environment?: string;
  eventName?: string;
  workflowRef?: string;
  jobWorkflowRef?: string;
  runnerEnvironment?: string;
  /** Other claims by their GitHub claim name (snake_case), same matching rules. */
  claims?: Record<string, string>;
}

/** Which images a policy allows. */
export interface PolicyImages {
  /** Allowed image repositories (`registry/path`), exact or `glob:`. */
  repositories: string[];
  requireDigest?: boolean;
}

/** A recurring time window in which deploys may start. */
export interface DeployWindow {
  /** Days of week the window is open, `Mon`..`Sun`; absent means every day. */
  days?: Array<'Mon' | 'Tue' | 'Wed' | 'Thu' | 'Fri' | 'Sat' | 'Sun'>;
  /** `HH:MM`, inclusive. */
  start: string;
  /** `HH:MM`, exclusive. */
  end: string;
  /** IANA time zone; default UTC. */
  timeZone?: string;
}

/** A period (RFC 3339 start and end) in which no deploy may start. */
export interface DeployFreeze {
  start: string;
  end: string;
  reason?: string;
}

/** Whether deploys need a human's approval, and whose. */
export interface PolicyApproval {
  required: boolean;
  /**
   * Who may approve or reject: Kubernetes user names, and groups written `group:NAME`. Absent or
   * empty: any user who may update DeployRequests. The names are the API server's authenticated
   * users, bound to the annotations by the shipped ValidatingAdmissionPolicy (docs/policy.md).
   */
  approvers?: string[];
}

/** How a rollout is followed; recorded in a request's `status.rolloutSettings` when it starts. */
export interface PolicyRollout {
  timeoutSeconds?: number;
  rollbackOnFailure?: boolean;
}

/** How deploys are reported to GitHub as deployments. */
export interface PolicyGitHubReporting {
  enabled?: boolean;
  productionEnvironment?: boolean;
  transientEnvironment?: boolean;
  environmentUrl?: string;
}

/** Who may deploy which images to which workloads, and when. Default deny: no policy, no deploy. */
export interface DeployPolicySpec {
  targets: PolicyTarget[];
  subjects?: PolicySubject[];
  /** Allow requests applied by hand (source `kubernetes`). Default false. */
  allowManual?: boolean;
  /** Allow requests from signed GitHub `deployment` webhooks. Default false. */
  allowGitHubDeployments?: boolean;
  images: PolicyImages;
  /** Environments a request may name; absent means any environment, or none. */
  environments?: string[];
  approval?: PolicyApproval;
  windows?: DeployWindow[];
  freezes?: DeployFreeze[];
  rollout?: PolicyRollout;
  github?: PolicyGitHubReporting;
}

/** A DeployPolicy's status (conditions reserved for validation feedback). */
export interface DeployPolicyStatus {
  observedGeneration?: number;
  conditions?: Condition[];
}

/** The rules a namespace's DeployRequests are checked against. */
export interface DeployPolicy {
  apiVersion: typeof API_VERSION;
  kind: 'DeployPolicy';
  metadata: ObjectMeta;
  spec: DeployPolicySpec;
  status?: DeployPolicyStatus;
}

/** Annotations this project reads or writes. */
export const ANNOTATIONS = {
  /**
   * On a DeployRequest: the Kubernetes user who approved it. The shipped admission policy admits
   * a write that sets or changes it only when the value is the writer's own user name.
   */
  approvedBy: 'keyless.dev/approved-by',
  /** On a DeployRequest: the approver's group that made them an approver (admission: one of the writer's groups). */
  approvedByGroup: 'keyless.dev/approved-by-group',
  /** On a DeployRequest: the Kubernetes user who rejected it (same admission rule as approvedBy). */
  rejectedBy: 'keyless.dev/rejected-by',
  /** On a DeployRequest: the rejecter's group that made them an approver. */
  rejectedByGroup: 'keyless.dev/rejected-by-group',
  /** On a workload: the DeployRequest (namespace/name) that last set its images. */
  deployRequest: 'keyless.dev/deploy-request',
} as const;

/** Labels this project reads or writes. */
export const LABELS = {
  /** On a DeployRequest: target workload kind and name, for per-workload listing. */
  targetKind: 'keyless.dev/target-kind',
  targetName: 'keyless.dev/target-name',
  /** On a DeployRequest: the source repository id. */
  repositoryId: 'keyless.dev/repository-id',
  /** On a DeployRequest from a token: a hash of issuer and jti, to find other requests of the same token. */
  tokenHash: 'keyless.dev/token-hash',
} as const;
