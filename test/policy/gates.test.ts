import type { DeployPolicy, DeployPolicySpec } from '../../src/api/types.js';
import { evaluateApproval, evaluateSchedule, rolloutSettings, windowOpen } from '../../src/policy/index.js';

function policy(spec: Partial<DeployPolicySpec>): DeployPolicy {
  return {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployPolicy',
    metadata: { name: 'p' },
    spec: { targets: [], images: { repositories: [] }, ...spec },
  };
}

describe('approval', () => {
  const gated = policy({ approval: { required: true, approvers: ['alice'] } });
  test('waits until an allowed approver approves; rejection wins', () => {
    expect(evaluateApproval(policy({}))).toEqual({ state: 'notRequired' });
    expect(evaluateApproval(gated, {})).toEqual({ state: 'waitingForApproval' });
    expect(evaluateApproval(gated, { 'keyless.dev/approved-by': 'mallory' })).toEqual({
      state: 'waitingForApproval',
    });
    expect(evaluateApproval(gated, { 'keyless.dev/approved-by': 'alice' })).toEqual({
      state: 'approved',
      by: 'alice',
    });
    expect(
      evaluateApproval(gated, { 'keyless.dev/approved-by': 'alice', 'keyless.dev/rejected-by': 'bob' }),
    ).toEqual({ state: 'rejected', by: 'bob' });
  });
});

describe('schedule', () => {
  const weekdays = policy({
    windows: [
      { days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'], start: '09:00', end: '17:00', timeZone: 'Europe/Berlin' },
    ],
  });
  test('windows in a time zone', () => {
    // 2026-11-23 is a Monday. 08:30 UTC = 09:30 Berlin (CET, UTC+1).
    expect(evaluateSchedule(weekdays, new Date('2026-11-23T08:30:00Z'))).toEqual({ open: true });
    const closed = evaluateSchedule(weekdays, new Date('2026-11-23T16:30:00Z'));
    expect(closed).toMatchObject({ open: false, reason: 'outside the deploy windows' });
    if (!closed.open) expect(closed.until.toISOString()).toBe('2026-11-24T08:00:00.000Z');
    const weekend = evaluateSchedule(weekdays, new Date('2026-11-21T10:00:00Z'));
    if (!weekend.open) expect(weekend.until.toISOString()).toBe('2026-11-23T08:00:00.000Z');
  });

  test('a window across midnight belongs to the day it opens', () => {
    const night = { days: ['Fri' as const], start: '22:00', end: '02:00' };
    expect(windowOpen(night, new Date('2026-11-27T23:00:00Z'))).toBe(true); // Friday night
    expect(windowOpen(night, new Date('2026-11-28T01:00:00Z'))).toBe(true); // early Saturday
    expect(windowOpen(night, new Date('2026-11-29T01:00:00Z'))).toBe(false); // early Sunday
  });

  test('freezes close the schedule until they end', () => {
    const frozen = policy({
      freezes: [{ start: '2026-12-20T00:00:00Z', end: '2027-01-02T00:00:00Z', reason: 'holidays' }],
    });
    const decision = evaluateSchedule(frozen, new Date('2026-12-24T12:00:00Z'));
    expect(decision).toMatchObject({
      open: false,
      reason: 'deploy freeze (holidays) until 2027-01-02T00:00:00Z',
    });
    if (!decision.open) expect(decision.until.toISOString()).toBe('2027-01-02T00:00:00.000Z');
    expect(evaluateSchedule(frozen, new Date('2027-01-02T00:00:00Z'))).toEqual({ open: true });
  });

  test('an unknown time zone never opens', () => {
    expect(windowOpen({ start: '00:00', end: '23:59', timeZone: 'Mars/Olympus' }, new Date())).toBe(false);
  });

  test('rollout defaults', () => {
    expect(rolloutSettings(policy({}))).toEqual({ timeoutSeconds: 600, rollbackOnFailure: true });
    expect(rolloutSettings(policy({ rollout: { timeoutSeconds: 30, rollbackOnFailure: false } }))).toEqual({
      timeoutSeconds: 30,
      rollbackOnFailure: false,
    });
  });
});
