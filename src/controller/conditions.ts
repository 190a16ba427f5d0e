/**
 * metav1.Condition bookkeeping: `lastTransitionTime` changes only when status, reason or message
 * change, so watchers can tell a real transition from a re-write.
 */
import type { Condition } from '../api/types.js';

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
  succeeded: 'Succeeded',
  failed: 'Failed',
  progressing: 'Progressing',
} as const;

/** Set (or replace) a condition, keeping lastTransitionTime when nothing but the time changed. */
export function setCondition(
  conditions: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime' | 'observedGeneration'>,
  generation: number | undefined,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((condition) => condition.type === next.type);
  const previous = index >= 0 ? list[index] : undefined;
  const unchanged =
    previous &&
    previous.status === next.status &&
    previous.reason === next.reason &&
    previous.message === next.message;
  const message = next.message.length > 32768 ? `${next.message.slice(0, 32765)}...` : next.message;
  const condition: Condition = {
    ...next,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime: unchanged ? previous.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (index >= 0) list[index] = condition;
  else list.push(condition);
  return list;
}

/** The condition of a type, if set. */
export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((condition) => condition.type === type);
}
