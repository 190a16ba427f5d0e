/**
 * The receiver reads DeployPolicies from an informer's cache: an accepted dispatch costs one API
 * call (the create). The cache only ever admits: a policy it has not seen yet is looked up on the
 * API server before a refusal, and until the cache is filled the receiver is not ready but still
 * answers from the API server. Runs against the embedded API server over HTTP.
 */
import type { KubeClient } from '../../src/kube/kube-client.js';
import { createPolicyCache } from '../../src/receiver/index.js';
import { startTestCluster, type TestCluster } from '../support/test-cluster.js';
import { waitUntil } from '../support/wait-until.js';
import { goodBody, seedPolicy, startHarness, webPolicy, type Harness } from './support/harness.js';

/** Calls as RBAC would see them (`verb resource`), and a switch that withholds policy watch events. */
interface Recorded {
  kube: KubeClient;
  calls: string[];
  /** While true, DeployPolicy watch events are dropped: the cache goes stale. */
  frozen: { policies: boolean };
  /** While set, the first DeployPolicy list waits for it. */
  firstList: { gate?: Promise<void> };
}

function recorded(kube: KubeClient): Recorded {
  const calls: string[] = [];
  const frozen = { policies: false };
  const firstList: Recorded['firstList'] = {};
  let listed = false;
  return {
    calls,
    frozen,
    firstList,
    kube: {
      ...kube,
      async list(type, namespace, options) {
        calls.push(`list ${type.plural}`);
        if (type.plural === 'deploypolicies' && !listed) {
          listed = true;
          await firstList.gate;
        }
        return kube.list(type, namespace, options);
      },
      create(type, object, options) {
        calls.push(`create ${type.plural}`);
        return kube.create(type, object, options);
      },
      get(type, namespace, name) {
        calls.push(`get ${type.plural}`);
        return kube.get(type, namespace, name);
      },
      watch(type, namespace, options, onEvent, onClose) {
        calls.push(`watch ${type.plural}`);
        const withheld: typeof onEvent = (event) => {
          if (type.plural === 'deploypolicies' && frozen.policies) return;
          onEvent(event);
        };
        return kube.watch(type, namespace, options, withheld, onClose);
      },
    },
  };
}

let cluster: TestCluster;
let ns = 0;

beforeAll(async () => {
  cluster = await startTestCluster();
});
afterAll(async () => {
  await cluster.close();
});

async function setUp(options: { gateFirstList?: Promise<void> } = {}): Promise<{
  h: Harness;
  rec: Recorded;
  namespace: string;
}> {
  const namespace = `cache-${++ns}`;
  await cluster.namespace(namespace);
  await seedPolicy(cluster.kube, webPolicy(namespace));
  const rec = recorded(cluster.kube);
  rec.firstList.gate = options.gateFirstList;
  const h = await startHarness(rec.kube, {
    policyCache: createPolicyCache({ kube: rec.kube, namespaces: [namespace] }),
    rateLimit: { perMinute: 0, burst: 0 },
  });
  return { h, rec, namespace };
}

const ready = async (h: Harness): Promise<number> => (await fetch(`${h.receiver.url}/readyz`)).status;

test('an accepted dispatch costs one API call (the create) once the cache is filled', async () => {
  const { h, rec, namespace } = await setUp();
  try {
    await waitUntil('the receiver to be ready', async () => (await ready(h)) === 200);
    rec.calls.length = 0;
    for (let i = 0; i < 5; i++) {
      const answer = await h.dispatch(goodBody({ namespace }), await h.token());
      expect(answer.status).toBe(202);
    }
    expect(rec.calls).toEqual(Array(5).fill('create deployrequests'));
  } finally {
    await h.close();
  }
});

test('a policy the cache has not seen yet admits after one list; a refusal always asks the API server', async () => {
  const { h, rec, namespace } = await setUp();
  try {
    await waitUntil('the receiver to be ready', async () => (await ready(h)) === 200);
    rec.frozen.policies = true;
    const apiPolicy = webPolicy(namespace, {
      targets: [{ kind: 'Deployment', name: 'api', containers: ['api'] }],
    });
    apiPolicy.metadata.name = 'api';
    await seedPolicy(cluster.kube, apiPolicy);
    rec.calls.length = 0;
    const admitted = await h.dispatch(goodBody({ namespace, target: 'Deployment/api' }), await h.token());
    expect(admitted.status).toBe(202);
    expect(rec.calls).toEqual(['list deploypolicies', 'create deployrequests']);

    rec.calls.length = 0;
    const refused = await h.dispatch(goodBody({ namespace, target: 'Deployment/db' }), await h.token());
    expect(refused.status).toBe(403);
    expect(rec.calls).toEqual(['list deploypolicies']);
  } finally {
    await h.close();
  }
});

test('until the cache is filled the receiver is not ready, and dispatches read policies from the API server', async () => {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const { h, rec, namespace } = await setUp({ gateFirstList: gate });
  try {
    await waitUntil('the cache to start listing', () => rec.calls.includes('list deploypolicies'));
    expect(await ready(h)).toBe(503);
    const answer = await h.dispatch(goodBody({ namespace }), await h.token());
    expect(answer.status).toBe(202);
    expect(rec.calls.filter((c) => c === 'list deploypolicies')).toHaveLength(2);
    release();
    await waitUntil('the receiver to be ready', async () => (await ready(h)) === 200);
  } finally {
    release();
    await h.close();
  }
});
