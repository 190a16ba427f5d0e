import type { DeployPhase, DeployRequest } from '../../src/api/types.js';
import { describeState, desiredStates, DESCRIPTION_LIMIT } from '../../src/github/deployment-states.js';
import { retryDecision } from '../../src/github/github-retry.js';

const request = (phase: DeployPhase, extra: Partial<NonNullable<DeployRequest['status']>> = {}) => ({
  spec: {
    target: { kind: 'Deployment' as const, name: 'web' },
    images: [{ container: 'web', image: 'ghcr.io/acme/web:1' }],
    source: { type: 'github-oidc' as const },
  },
  status: { phase, ...extra },
});

test.each([
  ['Pending', {}, []],
  ['WaitingForApproval', {}, ['queued']],
  ['Queued', {}, ['queued']],
  ['Deploying', {}, ['queued', 'in_progress']],
  ['Succeeded', { startedAt: 'x' }, ['queued', 'in_progress', 'success']],
  ['Succeeded', {}, ['queued', 'success']],
  ['RolledBack', { startedAt: 'x' }, ['queued', 'in_progress', 'failure']],
  ['Failed', {}, ['queued', 'failure']],
  ['Denied', {}, ['error']],
  ['Rejected', {}, ['queued', 'error']],
  ['Superseded', {}, ['queued', 'inactive']],
] as const)('%s %j -> %j', (phase, extra, states) => {
  expect(desiredStates(request(phase, extra))).toEqual(states);
});

test('descriptions stay within GitHub\u2019s 140 characters and on one line', () => {
  const long = request('Failed', { message: `rollout failed:\n${'x'.repeat(500)}` });
  const text = describeState(long, 'failure');
  expect(text.length).toBe(DESCRIPTION_LIMIT);
  expect(text).toMatch(/^Failed: rollout failed: x+…$/);
  expect(describeState(request('Succeeded'), 'success')).toBe('Deployed Deployment/web');
});

describe('retries follow GitHub\u2019s rate-limit headers', () => {
  const now = 1_000_000;
  const error = (status: number, headers: Record<string, string> = {}) => ({ status, response: { headers } });
  test.each([
    [error(429, { 'retry-after': '7' }), 1, { retry: true, afterMs: 7000 }],
    [error(403, { 'retry-after': '3' }), 1, { retry: true, afterMs: 3000 }],
    [
      error(403, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 90) }),
      1,
      { retry: true, afterMs: 90_000 },
    ],
    [error(503), 1, { retry: true, afterMs: 1000 }],
    [error(502), 4, { retry: true, afterMs: 8000 }],
    [error(500), 30, { retry: true, afterMs: 300_000 }],
    [new Error('fetch failed'), 2, { retry: true, afterMs: 2000 }],
    [error(401), 1, { retry: true }],
    [error(401), 2, { retry: false }],
    [error(403), 1, { retry: false }],
    [error(404), 1, { retry: false }],
    [error(422), 1, { retry: false }],
  ])('%j attempt %i', (failure, attempt, expected) => {
    expect(retryDecision(failure, attempt, now)).toMatchObject(expected);
  });
});
