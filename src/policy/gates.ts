/**
 * Gates between admission and deploy: human approval (annotations set by someone allowed to
 * update DeployRequests), deploy windows and freezes. Pure functions of the policy, the request's
 * annotations and a clock.
 */
import { ANNOTATIONS, type DeployPolicy, type DeployWindow } from '../api/types.js';

export type ApprovalDecision =
  | { state: 'notRequired' }
  | { state: 'waitingForApproval' }
  | { state: 'approved'; by: string }
  | { state: 'rejected'; by: string };

/** Approval state of a request under a policy. A rejection wins over an approval. */
export function evaluateApproval(
  policy: DeployPolicy,
  annotations: Record<string, string> = {},
): ApprovalDecision {
  const rejectedBy = annotations[ANNOTATIONS.rejectedBy];
  if (rejectedBy) return { state: 'rejected', by: rejectedBy };
  const approval = policy.spec.approval;
  if (!approval?.required) return { state: 'notRequired' };
  const approvedBy = annotations[ANNOTATIONS.approvedBy];
  if (!approvedBy) return { state: 'waitingForApproval' };
  if (approval.approvers && approval.approvers.length > 0 && !approval.approvers.includes(approvedBy))
    return { state: 'waitingForApproval' };
  return { state: 'approved', by: approvedBy };
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
