/**
 * The condition types and reasons of a DeployRequest: `Ready`, `Reconciling` and `Stalled` (kstatus,
 * written by the summarise step) and one condition per step. Reasons are CamelCase constants.
 * The bookkeeping itself (`setCondition`) is in src/runtime/conditions.ts.
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
  policyDenied: 'PolicyDenied',
  policyAllowed: 'PolicyAllowed',
  waitingForApproval: 'WaitingForApproval',
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
  succeeded: 'Succeeded',
  failed: 'Failed',
  progressing: 'Progressing',
  /** Ready=False while a reconcile fails and is retried with backoff; the message is the error's. */
  reconciliationFailed: 'ReconciliationFailed',
  /** Reconciling=True while a failed reconcile waits for its retry. */
  progressingWithRetry: 'ProgressingWithRetry',
} as const;
