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
} as const;
