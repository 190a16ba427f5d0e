/** Policy evaluation (pure), shared by receiver and controller. See docs/policy.md. */
export { parseImageReference, ImageReferenceError, type ImageReference } from './image-reference.js';
export { matchPattern, GLOB_PREFIX } from './match-pattern.js';
export {
  evaluatePolicies,
  describeDenial,
  subjectMismatch,
  webhookUnverifiableRule,
  CLAIM_FIELDS,
  type PolicyDecision,
  type PolicyDenial,
  type PolicyInput,
  type DenialCondition,
} from './evaluate-policies.js';
export {
  evaluateApproval,
  evaluateSchedule,
  windowOpen,
  rolloutSettings,
  type ApprovalDecision,
  type IgnoredDecision,
  type ScheduleDecision,
} from './gates.js';
export {
  GROUP_PREFIX,
  approverIdentity,
  countsAsApprover,
  describeApprover,
  describeApprovers,
  type Approver,
} from './approvers.js';
export {
  APPROVAL_ADMISSION_INSTALL,
  APPROVAL_ADMISSION_NAME,
  approvalAdmissionProblem,
  differenceFromShipped,
  shippedApprovalAdmission,
  type AdmissionObject,
  type ApprovalAdmissionState,
} from './approval-admission.js';
