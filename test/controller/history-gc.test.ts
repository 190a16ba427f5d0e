import type { DeployRequest } from '../../src/api/types.js';
import { requestsToCollect } from '../../src/controller/history-gc.js';
import type { KubeObject } from '../../src/kube/kube-client.js';

type Request = DeployRequest & KubeObject;

function request(
  name: string,
  phase: string | undefined,
  completedAt: string | undefined,
  target = 'web',
): Request {
  return {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployRequest',
    metadata: { name, namespace: 'shop', creationTimestamp: '2026-11-01T00:00:00Z' },
    spec: {
      target: { kind: 'Deployment', name: target },
      images: [{ container: 'web', image: 'x:1' }],
      source: { type: 'kubernetes' },
    },
    status: { ...(phase ? { phase: phase as never } : {}), ...(completedAt ? { completedAt } : {}) },
  } as Request;
}

describe('history collection', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  const requests = [
    request('old-done', 'Succeeded', '2026-11-20T00:00:00Z'),
    request('new-done', 'Succeeded', '2026-11-22T11:00:00Z'),
    request('old-running', 'Deploying', undefined),
    request('old-pending', undefined, undefined),
    request('other-1', 'Failed', '2026-11-22T10:00:00Z', 'api'),
    request('other-2', 'RolledBack', '2026-11-22T10:30:00Z', 'api'),
    request('other-3', 'Denied', '2026-11-22T11:30:00Z', 'api'),
  ];

  test('TTL deletes only finished requests older than it', () => {
    expect(requestsToCollect(requests, { ttlMs: 24 * 3600_000 }, now).map((r) => r.metadata.name)).toEqual([
      'old-done',
    ]);
  });

  test('the per-workload limit keeps the newest finished ones and never touches running ones', () => {
    expect(requestsToCollect(requests, { limitPerWorkload: 2 }, now).map((r) => r.metadata.name)).toEqual([
      'other-1',
    ]);
    expect(
      requestsToCollect(requests, { limitPerWorkload: 1 }, now)
        .map((r) => r.metadata.name)
        .sort(),
    ).toEqual(['old-done', 'other-1', 'other-2']);
  });

  test('zero settings keep everything', () => {
    expect(requestsToCollect(requests, { ttlMs: 0, limitPerWorkload: 0 }, now)).toEqual([]);
  });
});
