/** The summarise rules: from how a reconcile ended to Ready, Reconciling and Stalled. */
import type { Condition } from '../../src/api/types.js';
import { genericError, GenericError, toWorkResult } from '../../src/runtime/reconcile-result.js';
import { summarizeConditions } from '../../src/runtime/summarize.js';
import { KubeApiError } from '../../src/kube/kube-client.js';

const t1 = new Date('2026-12-01T12:00:00Z');
const t2 = new Date('2026-12-01T12:05:00Z');
const brief = (conditions: Condition[]) =>
  Object.fromEntries(conditions.map((c) => [c.type, `${c.status} ${c.reason}`]));

test.each([
  [
    { kind: 'success', reason: 'RolloutComplete', message: 'm' },
    { Ready: 'True RolloutComplete', Reconciling: 'False RolloutComplete', Stalled: 'False RolloutComplete' },
  ],
  [
    { kind: 'stalling', reason: 'PolicyDenied', message: 'm' },
    { Ready: 'False PolicyDenied', Reconciling: 'False PolicyDenied', Stalled: 'True PolicyDenied' },
  ],
  [
    { kind: 'waiting', reason: 'WorkloadBusy', message: 'm', requeueAfterMs: 5 },
    { Ready: 'False WorkloadBusy', Reconciling: 'True WorkloadBusy' },
  ],
] as const)('%j', (outcome, expected) => {
  expect(brief(summarizeConditions(undefined, outcome, 1, t1))).toEqual(expected);
});

test('a generic error: Ready=False with its reason and message, Reconciling=True ProgressingWithRetry, Stalled removed', () => {
  const before = summarizeConditions(
    undefined,
    { kind: 'waiting', reason: 'Deploying', message: 'm' },
    1,
    t1,
  );
  const stalledBefore = [
    ...before,
    { type: 'Stalled', status: 'True' as const, reason: 'X', message: '', lastTransitionTime: '' },
  ];
  const after = summarizeConditions(stalledBefore, new GenericError('the API server is down'), 1, t2);
  expect(brief(after)).toEqual({
    Ready: 'False ReconciliationFailed',
    Reconciling: 'True ProgressingWithRetry',
  });
  // Ready was False before and is False now: not a transition.
  expect(after.find((c) => c.type === 'Ready')).toMatchObject({
    message: 'the API server is down',
    lastTransitionTime: '2026-12-01T12:00:00Z',
  });
});

test('genericError says what was being done and what the API server answered', () => {
  expect(
    genericError(
      new KubeApiError('Deployment.apps "web" is invalid', 422, 'Invalid'),
      'patching Deployment web',
    ).message,
  ).toBe('patching Deployment web: the API server answered 422 Invalid: Deployment.apps "web" is invalid');
  expect(
    genericError(
      new KubeApiError('cannot reach the Kubernetes API: ECONNREFUSED', 0, 'ConnectionFailed'),
      'reading',
    ).message,
  ).toBe('reading: cannot reach the Kubernetes API: ECONNREFUSED');
  const already = new GenericError('x', { reason: 'Custom' });
  expect(genericError(already, 'ignored')).toBe(already);
  expect(genericError('plain').reason).toBe('ReconciliationFailed');
});

test('the queue requeues only waiting results with a delay', () => {
  expect(toWorkResult({ kind: 'waiting', reason: 'R', message: '', requeueAfterMs: 1000 })).toEqual({
    requeueAfterMs: 1000,
  });
  expect(toWorkResult({ kind: 'waiting', reason: 'R', message: '' })).toBeUndefined();
  expect(toWorkResult({ kind: 'stalling', reason: 'R', message: '' })).toBeUndefined();
  expect(toWorkResult({ kind: 'success', reason: 'R', message: '' })).toBeUndefined();
});
