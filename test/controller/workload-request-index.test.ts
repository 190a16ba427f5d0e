/** The per-workload index of DeployRequests the order step decides from. */
import type { DeployPhase, DeployRequest } from '../../src/api/types.js';
import type { KubeObject } from '../../src/kube/kube-client.js';
import { WorkloadRequestIndex } from '../../src/controller/workload-request-index.js';

type Request = DeployRequest & KubeObject;

const request = (
  name: string,
  resourceVersion: string,
  phase?: DeployPhase,
  target = 'web',
  uid = `uid-${name}`,
): Request => ({
  apiVersion: 'keyless.dev/v1alpha1',
  kind: 'DeployRequest',
  metadata: { name, namespace: 'shop', uid, resourceVersion },
  spec: {
    target: { kind: 'Deployment', name: target },
    images: [{ container: 'web', image: 'ghcr.io/acme/web:2.0.0' }],
    source: { type: 'kubernetes' },
  },
  ...(phase ? { status: { phase } } : {}),
});

const phases = (index: WorkloadRequestIndex, of: Request): Record<string, string> =>
  Object.fromEntries(index.requestsOf(of).map((r) => [r.metadata.name, r.status?.phase ?? 'Pending']));

describe('WorkloadRequestIndex', () => {
  test('groups requests by workload', () => {
    const index = new WorkloadRequestIndex();
    index.observe(request('a', '1'));
    index.observe(request('b', '2'));
    index.observe(request('c', '3', undefined, 'api'));
    expect(phases(index, request('x', '9'))).toEqual({ a: 'Pending', b: 'Pending' });
    expect(phases(index, request('x', '9', undefined, 'api'))).toEqual({ c: 'Pending' });
  });

  test("an earlier version delivered after the controller's own write does not hide its Deploying", () => {
    const index = new WorkloadRequestIndex();
    index.written(request('a', '12', 'Deploying'));
    index.observe(request('a', '10', 'Queued'));
    expect(phases(index, request('a', '12'))).toEqual({ a: 'Deploying' });
    expect(index.isActiveByOwnWrite(request('a', '12'))).toBe(true);
    // resourceVersions compare as integers, not as strings ('9' < '12').
    index.observe(request('a', '9', 'Queued'));
    expect(phases(index, request('a', '12'))).toEqual({ a: 'Deploying' });
  });

  test('the end of a deploy clears what the controller made active; a new term forgets it too', () => {
    const index = new WorkloadRequestIndex();
    index.written(request('a', '5', 'Deploying'));
    index.observe(request('a', '6', 'Succeeded'));
    expect(index.isActiveByOwnWrite(request('a', '6'))).toBe(false);
    index.written(request('b', '7', 'Deploying'));
    index.newTerm();
    expect(index.isActiveByOwnWrite(request('b', '7'))).toBe(false);
    expect(phases(index, request('b', '7'))).toEqual({ a: 'Succeeded', b: 'Deploying' });
  });

  test('deletion, a recreated request of the same name, and an authoritative list', () => {
    const index = new WorkloadRequestIndex();
    index.written(request('a', '5', 'Deploying'));
    index.observe(request('b', '6', 'Queued'));
    // A deletion of an older incarnation leaves the newer one.
    index.forget(request('a', '4', 'Deploying', 'web', 'old-uid'));
    expect(phases(index, request('x', '1'))).toEqual({ a: 'Deploying', b: 'Queued' });
    index.forget(request('a', '5', 'Deploying'));
    expect(index.isActiveByOwnWrite(request('a', '5'))).toBe(false);
    expect(phases(index, request('x', '1'))).toEqual({ b: 'Queued' });
    index.observe(request('a', '3', 'Deploying', 'web', 'new-uid'));
    index.replaceWorkload(request('x', '1'), [request('c', '8')]);
    expect(phases(index, request('x', '1'))).toEqual({ c: 'Pending' });
  });
});
