/**
 * The condition types and reasons of a DeployRequest: `Ready`, `Reconciling` and `Stalled` (kstatus,
 * written by the summarise step) and one condition per step. Reasons are CamelCase constants; a
 * failed reconcile's (`ReconciliationFailed`, `ProgressingWithRetry`) are the runtime's
 * (src/runtime/reconcile-result.ts, summarize.ts), as is the bookkeeping (`setCondition`).
 */

/** Condition types of a DeployRequest. */
export const CONDITION = {
  ready: 'Ready',
  reconciling: 'Reconciling',
  stalled: 'Stalled',
  authorized: 'Authorized',
  approved: 'Approved',
  scheduled: 'Scheduled',
  deployed: 'Deployed',
  rolledBack: 'RolledBack',
} as const;

/** Reasons (CamelCase constants). */
export const REASON = {
  attestationInvalid: 'AttestationInvalid',
  tokenReused: 'TokenReused',
  /** The attestation was issued too long before the request was created (a saved request re-created). */
  attestationExpired: 'AttestationExpired',
  /** The attested name was already used by a request with another uid (deleted and created again). */
  attestationReplayed: 'AttestationReplayed',
  policyDenied: 'PolicyDenied',
  policyAllowed: 'PolicyAllowed',
  waitingForApproval: 'WaitingForApproval',
  /** Approval is required, but the admission policy that vouches for approvers is not in force. */
  approvalNotVerifiable: 'ApprovalNotVerifiable',
  /** An approval or rejection was written by someone who is not an approver. */
  notAnApprover: 'NotAnApprover',
  approved: 'Approved',
  approvalNotRequired: 'ApprovalNotRequired',
  rejected: 'Rejected',
  outsideWindow: 'OutsideDeployWindow',
  inWindow: 'InDeployWindow',
  queued: 'WorkloadBusy',
  superseded: 'Superseded',
  targetNotFound: 'TargetNotFound',
  containerNotFound: 'ContainerNotFound',
  alreadyUpToDate: 'AlreadyUpToDate',
  deploying: 'Deploying',
  rolloutComplete: 'RolloutComplete',
  progressDeadlineExceeded: 'ProgressDeadlineExceeded',
  rolloutTimeout: 'RolloutTimeout',
  rollingBack: 'RollingBack',
  rollbackComplete: 'RollbackComplete',
  rollbackFailed: 'RollbackFailed',
  /** The workload has no record (by this request) of the images to restore: no rollback. */
  rollbackNotRecorded: 'RollbackNotRecorded',
  /** The status was written by a manager other than the controller: ignored, authorised again. */
  statusNotTrusted: 'StatusNotTrusted',
  succeeded: 'Succeeded',
  failed: 'Failed',
  progressing: 'Progressing',
} as const;
