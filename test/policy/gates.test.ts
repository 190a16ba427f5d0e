import type { DeployPolicy, DeployPolicySpec } from '../../src/api/types.js';
import {
  approvalAdmissionProblem,
  approverIdentity,
  evaluateApproval,
  evaluateSchedule,
  rolloutSettings,
  shippedApprovalAdmission,
  windowOpen,
  type AdmissionObject,
  type ApprovalAdmissionState,
} from '../../src/policy/index.js';

function policy(spec: Partial<DeployPolicySpec>): DeployPolicy {
  return {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployPolicy',
    metadata: { name: 'p' },
    spec: { targets: [], images: { repositories: [] }, ...spec },
  };
}

describe('approval', () => {
  const gated = policy({ approval: { required: true, approvers: ['alice', 'group:sre'] } });
  const open = policy({ approval: { required: true } });
  test('waits until an approver approves; a rejection by an approver wins', () => {
    expect(evaluateApproval(policy({}), { 'keyless.dev/rejected-by': 'alice' })).toEqual({
      state: 'notRequired',
    });
    expect(evaluateApproval(gated, {})).toEqual({ state: 'waitingForApproval', ignored: [] });
    expect(evaluateApproval(gated, { 'keyless.dev/approved-by': 'alice' })).toEqual({
      state: 'approved',
      by: { user: 'alice' },
    });
    expect(
      evaluateApproval(gated, { 'keyless.dev/approved-by': 'alice', 'keyless.dev/rejected-by': 'alice' }),
    ).toEqual({ state: 'rejected', by: { user: 'alice' } });
    // An empty approvers list: any authenticated user who may write the annotation.
    expect(evaluateApproval(open, { 'keyless.dev/approved-by': 'mallory' })).toEqual({
      state: 'approved',
      by: { user: 'mallory' },
    });
  });

  test('groups count as group:NAME entries, with the group written beside the user', () => {
    expect(
      evaluateApproval(gated, { 'keyless.dev/approved-by': 'carol', 'keyless.dev/approved-by-group': 'sre' }),
    ).toEqual({ state: 'approved', by: { user: 'carol', group: 'sre' } });
    expect(
      evaluateApproval(gated, { 'keyless.dev/approved-by': 'carol', 'keyless.dev/approved-by-group': 'dev' }),
    ).toEqual({
      state: 'waitingForApproval',
      ignored: [{ decision: 'approval', by: { user: 'carol', group: 'dev' } }],
    });
    // A user literally named like a group entry is not that group.
    expect(evaluateApproval(gated, { 'keyless.dev/approved-by': 'group:sre' })).toMatchObject({
      state: 'waitingForApproval',
    });
  });

  test('decisions by non-approvers are ignored, and said so; a rejection by one does not end the request', () => {
    expect(
      evaluateApproval(gated, { 'keyless.dev/approved-by': 'bob', 'keyless.dev/rejected-by': 'mallory' }),
    ).toEqual({
      state: 'waitingForApproval',
      ignored: [
        { decision: 'rejection', by: { user: 'mallory' } },
        { decision: 'approval', by: { user: 'bob' } },
      ],
    });
    expect(
      evaluateApproval(gated, { 'keyless.dev/approved-by': 'alice', 'keyless.dev/rejected-by': 'mallory' }),
    ).toEqual({ state: 'approved', by: { user: 'alice' } });
  });

  test('nothing counts while the admission policy is not in force (fail closed)', () => {
    for (const annotations of [
      { 'keyless.dev/approved-by': 'alice' },
      { 'keyless.dev/rejected-by': 'alice' },
      {},
    ] as Array<Record<string, string>>)
      expect(evaluateApproval(gated, annotations, 'policy missing')).toEqual({
        state: 'unverifiable',
        reason: 'policy missing',
      });
  });

  test('approverIdentity: by name when listed, else the first listed group of the caller', () => {
    expect(approverIdentity(['alice', 'group:sre'], { username: 'alice', groups: ['sre'] })).toEqual({
      user: 'alice',
    });
    expect(
      approverIdentity(['group:ops', 'group:sre'], {
        username: 'carol',
        groups: ['system:authenticated', 'sre', 'ops'],
      }),
    ).toEqual({ user: 'carol', group: 'ops' });
    expect(approverIdentity(['alice', 'group:sre'], { username: 'bob', groups: ['dev'] })).toBeUndefined();
    expect(approverIdentity([], { username: 'bob', groups: [] })).toEqual({ user: 'bob' });
  });
});

/** A shipped object to change in a test (the specs are plain JSON). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form edits of a JSON copy
type Mutable = AdmissionObject & { spec: any };

describe('approval admission: in force only as shipped, and only for requests made after it', () => {
  const shipped = shippedApprovalAdmission();
  const at = (time: string, object: AdmissionObject): AdmissionObject => ({
    ...object,
    metadata: { ...object.metadata, creationTimestamp: time },
  });
  const state = (overrides: Partial<ApprovalAdmissionState> = {}): ApprovalAdmissionState => ({
    policy: at('2026-01-01T00:00:00Z', shipped.policy),
    binding: at('2026-01-01T00:00:05Z', shipped.binding),
    requestCreated: '2026-01-01T00:00:08Z',
    settleSeconds: 2,
    ...overrides,
  });
  test('as shipped, with the defaults a real API server adds', () => {
    expect(approvalAdmissionProblem(state())).toBeUndefined();
    const defaulted = structuredClone(shipped.policy) as Mutable;
    defaulted.spec.matchConstraints.matchPolicy = 'Equivalent';
    defaulted.spec.matchConstraints.namespaceSelector = {};
    defaulted.spec.matchConstraints.objectSelector = {};
    defaulted.spec.matchConstraints.resourceRules[0].scope = '*';
    expect(
      approvalAdmissionProblem(state({ policy: at('2026-01-01T00:00:00Z', defaulted) })),
    ).toBeUndefined();
  });
  test('missing, changed or too young: a reason naming what and how to install', () => {
    expect(approvalAdmissionProblem(state({ policy: undefined, binding: undefined }))).toBe(
      'ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding keyless-deploy-approvals are not installed: install them with the keyless-deploy chart (value approvals.admissionPolicy.install, on by default; Kubernetes >= 1.30)',
    );
    const weakened = structuredClone(shipped.policy) as Mutable;
    weakened.spec.failurePolicy = 'Ignore';
    expect(approvalAdmissionProblem(state({ policy: at('2026-01-01T00:00:00Z', weakened) }))).toContain(
      'ValidatingAdmissionPolicy keyless-deploy-approvals is not as shipped (it differs at spec.failurePolicy)',
    );
    const narrowed = structuredClone(shipped.binding) as Mutable;
    narrowed.spec.matchResources = { namespaceSelector: { matchLabels: { audited: 'no' } } };
    expect(approvalAdmissionProblem(state({ binding: at('2026-01-01T00:00:05Z', narrowed) }))).toContain(
      'differs at spec.matchResources',
    );
    const skipping = structuredClone(shipped.policy) as Mutable;
    skipping.spec.matchConditions = [{ name: 'never', expression: 'false' }];
    expect(approvalAdmissionProblem(state({ policy: at('2026-01-01T00:00:00Z', skipping) }))).toContain(
      'differs at spec.matchConditions',
    );
    // Created within the settle time after the later object (or in the same second): not counted.
    for (const created of ['2026-01-01T00:00:07Z', '2026-01-01T00:00:05Z', '2026-01-01T00:00:01Z'])
      expect(approvalAdmissionProblem(state({ requestCreated: created }))).toContain(
        'the request was created before keyless-deploy-approvals took effect (requests created after 2026-01-01T00:00:05Z + 2s count)',
      );
    expect(
      approvalAdmissionProblem(state({ settleSeconds: 0, requestCreated: '2026-01-01T00:00:05Z' })),
    ).toContain('created before');
    expect(
      approvalAdmissionProblem(state({ settleSeconds: 0, requestCreated: '2026-01-01T00:00:06Z' })),
    ).toBeUndefined();
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
