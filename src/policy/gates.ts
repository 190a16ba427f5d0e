/**
 * Gates between admission and deploy: human approval (annotations whose writers the API server's
 * admission policy vouches for), deploy windows and freezes. Pure functions of the policy, the
 * request's annotations, what the controller found out about the admission policy, and a clock.
 */
import { ANNOTATIONS, type DeployPolicy, type DeployWindow } from '../api/types.js';
import { countsAsApprover, type Approver } from './approvers.js';

/** An approval or rejection the controller did not count, because its writer is not an approver. */
export interface IgnoredDecision {
  decision: 'approval' | 'rejection';
  by: Approver;
}

export type ApprovalDecision =
  | { state: 'notRequired' }
  /** Approval is required but annotations cannot be attributed (admission policy missing or changed). */
  | { state: 'unverifiable'; reason: string }
  | { state: 'waitingForApproval'; ignored: IgnoredDecision[] }
  | { state: 'approved'; by: Approver }
  | { state: 'rejected'; by: Approver };

function decisionOf(
  annotations: Record<string, string>,
  byKey: string,
  groupKey: string,
): Approver | undefined {
  const user = annotations[byKey];
  if (!user) return undefined;
  const group = annotations[groupKey];
  return group ? { user, group } : { user };
}

/**
 * Approval state of a request under a policy. Only policies with `approval.required` look at the
 * annotations, and only when `unverifiable` is undefined (the controller confirmed the admission
 * policy that ties them to their writers). A rejection by an approver wins over an approval;
 * decisions by non-approvers are returned as ignored and change nothing.
 */
export function evaluateApproval(
  policy: DeployPolicy,
  annotations: Record<string, string> = {},
  unverifiable?: string,
): ApprovalDecision {
  const approval = policy.spec.approval;
  if (!approval?.required) return { state: 'notRequired' };
  if (unverifiable !== undefined) return { state: 'unverifiable', reason: unverifiable };
  const ignored: IgnoredDecision[] = [];
  const rejection = decisionOf(annotations, ANNOTATIONS.rejectedBy, ANNOTATIONS.rejectedByGroup);
  if (rejection) {
    if (countsAsApprover(approval.approvers, rejection)) return { state: 'rejected', by: rejection };
    ignored.push({ decision: 'rejection', by: rejection });
  }
  const approvalBy = decisionOf(annotations, ANNOTATIONS.approvedBy, ANNOTATIONS.approvedByGroup);
  if (approvalBy) {
    if (countsAsApprover(approval.approvers, approvalBy)) return { state: 'approved', by: approvalBy };
    ignored.push({ decision: 'approval', by: approvalBy });
  }
  return { state: 'waitingForApproval', ignored };
}

export type ScheduleDecision = { open: true } | { open: false; until: Date; reason: string };

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** Day of week and minutes since midnight of `date` in a time zone. */
function localTime(date: Date, timeZone: string): { day: (typeof DAYS)[number]; minutes: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const get = (type: string): string => parts.find((part) => part.type === type)?.value ?? '';
  return {
    day: get('weekday') as (typeof DAYS)[number],
    minutes: Number(get('hour')) * 60 + Number(get('minute')),
  };
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

function previousDay(day: (typeof DAYS)[number]): (typeof DAYS)[number] {
  return DAYS[(DAYS.indexOf(day) + 6) % 7] as (typeof DAYS)[number];
}

/** Is a window open at `date`? Windows whose end is before start cross midnight. */
export function windowOpen(window: DeployWindow, date: Date): boolean {
  let local;
  try {
    local = localTime(date, window.timeZone ?? 'UTC');
  } catch {
    return false;
  }
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  const dayAllowed = (day: (typeof DAYS)[number]): boolean =>
    !window.days || window.days.length === 0 || window.days.includes(day);
  if (start < end) return dayAllowed(local.day) && local.minutes >= start && local.minutes < end;
  if (start === end) return dayAllowed(local.day);
  // Crosses midnight: the evening part belongs to today, the morning part to yesterday's window.
  return (
    (dayAllowed(local.day) && local.minutes >= start) ||
    (dayAllowed(previousDay(local.day)) && local.minutes < end)
  );
}

/** Whether deploys may start now under the policy's windows and freezes, and if not, until when. */
export function evaluateSchedule(policy: DeployPolicy, now: Date): ScheduleDecision {
  const freezes = policy.spec.freezes ?? [];
  const windows = policy.spec.windows ?? [];
  const activeFreeze = freezes.find(
    (freeze) => Date.parse(freeze.start) <= now.getTime() && now.getTime() < Date.parse(freeze.end),
  );
  const inWindow = (date: Date): boolean =>
    windows.length === 0 || windows.some((window) => windowOpen(window, date));
  if (!activeFreeze && inWindow(now)) return { open: true };
  // Find the next minute at which the schedule opens (bounded search: 8 days ahead).
  // Jump over freezes; step through windows by the minute (bounded: 8 days past the last freeze).
  const step = 60_000;
  let probe = new Date(Math.ceil((now.getTime() + 1) / step) * step);
  let limit = probe.getTime() + 8 * 24 * 60 * step;
  while (probe.getTime() < limit) {
    const freeze = freezes.find(
      (f) => Date.parse(f.start) <= probe.getTime() && probe.getTime() < Date.parse(f.end),
    );
    if (freeze) {
      probe = new Date(Date.parse(freeze.end));
      limit = probe.getTime() + 8 * 24 * 60 * step;
    } else if (!inWindow(probe)) {
      probe = new Date(probe.getTime() + step);
    } else {
      break;
    }
  }
  const reason = activeFreeze
    ? `deploy freeze${activeFreeze.reason ? ` (${activeFreeze.reason})` : ''} until ${activeFreeze.end}`
    : 'outside the deploy windows';
  return { open: false, until: probe, reason };
}

/** Rollout settings with their defaults. */
export function rolloutSettings(policy: DeployPolicy): {
  timeoutSeconds: number;
  rollbackOnFailure: boolean;
} {
  return {
    timeoutSeconds: policy.spec.rollout?.timeoutSeconds ?? 600,
    rollbackOnFailure: policy.spec.rollout?.rollbackOnFailure ?? true,
  };
}
