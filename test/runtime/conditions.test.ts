import { setCondition } from '../../src/runtime/conditions.js';

describe('setCondition', () => {
  const t1 = new Date('2026-11-22T10:00:00Z');
  const t2 = new Date('2026-11-22T11:00:00Z');
  test('lastTransitionTime changes only when the status changes (a real transition)', () => {
    const first = setCondition(
      undefined,
      { type: 'Ready', status: 'False', reason: 'Deploying', message: 'm' },
      1,
      t1,
    );
    const same = setCondition(
      first,
      { type: 'Ready', status: 'False', reason: 'Deploying', message: 'm' },
      1,
      t2,
    );
    expect(same[0]?.lastTransitionTime).toBe('2026-11-22T10:00:00Z');
    // A new reason or message with the same status (another retry, rollout progress) is no transition.
    const retried = setCondition(
      same,
      { type: 'Ready', status: 'False', reason: 'ReconciliationFailed', message: 'the API server refused' },
      1,
      t2,
    );
    expect(retried[0]).toMatchObject({
      reason: 'ReconciliationFailed',
      message: 'the API server refused',
      lastTransitionTime: '2026-11-22T10:00:00Z',
    });
    const changed = setCondition(
      same,
      { type: 'Ready', status: 'True', reason: 'RolloutComplete', message: 'done' },
      1,
      t2,
    );
    expect(changed).toEqual([
      {
        type: 'Ready',
        status: 'True',
        reason: 'RolloutComplete',
        message: 'done',
        observedGeneration: 1,
        lastTransitionTime: '2026-11-22T11:00:00Z',
      },
    ]);
  });
  test('other conditions are kept; oversized messages are cut to the schema bound', () => {
    const list = setCondition(
      [{ type: 'A', status: 'True', reason: 'R', message: '', lastTransitionTime: 'x' }],
      { type: 'B', status: 'True', reason: 'R', message: 'y'.repeat(40000) },
      2,
      t1,
    );
    expect(list.map((c) => c.type)).toEqual(['A', 'B']);
    expect(list[1]?.message.length).toBeLessThanOrEqual(32768);
  });
});
