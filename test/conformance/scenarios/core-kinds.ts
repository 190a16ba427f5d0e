/**
 * The other kinds the project writes or reads: Leases (leader election), Events in both APIs (the
 * controller's and the receiver's records), Secrets and ConfigMaps, including through kubectl's
 * generators (protobuf bodies).
 */
import type { Scenario } from '../scenario.js';
import {
  CM,
  EVENTS,
  EVENTS_V1,
  LEASES,
  SECRETS,
  configMap,
  get,
  kubectl,
  patch,
  post,
  put,
} from './steps.js';

const lease = (name: string, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name },
  spec: {
    holderIdentity: 'controller-a',
    leaseDurationSeconds: 15,
    acquireTime: '2026-01-01T00:00:00.000000Z',
    renewTime: '2026-01-01T00:00:00.000000Z',
    leaseTransitions: 0,
    ...spec,
  },
});

const coreEvent = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name },
  involvedObject: {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployRequest',
    name: 'r1',
    namespace: '{ns}',
  },
  reason: 'Deploying',
  message: 'rolling out web',
  type: 'Normal',
  source: { component: 'keyless-deploy-controller' },
  firstTimestamp: '2026-01-01T00:00:00Z',
  lastTimestamp: '2026-01-01T00:00:00Z',
  count: 1,
  ...extra,
});

const eventV1 = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  metadata: { name },
  eventTime: '2026-01-01T00:00:00.000000Z',
  reportingController: 'keyless.dev/controller',
  reportingInstance: 'controller-0',
  action: 'Deploy',
  reason: 'Deploying',
  note: 'rolling out web',
  type: 'Normal',
  regarding: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: '{ns}' },
  ...extra,
});

export const CORE_KIND_SCENARIOS: Scenario[] = [
  {
    name: 'lease-lifecycle',
    area: 'Lease',
    steps: [
      post(LEASES, lease('leader'), { save: { rv: 'metadata.resourceVersion' } }),
      put(`${LEASES}/leader`, {
        ...lease('leader', { holderIdentity: 'controller-b', leaseTransitions: 1 }),
        metadata: { name: 'leader', resourceVersion: '$rv' },
      }),
      // The same resourceVersion again: the lock was taken meanwhile.
      put(`${LEASES}/leader`, {
        ...lease('leader', { holderIdentity: 'controller-c' }),
        metadata: { name: 'leader', resourceVersion: '$rv' },
      }),
      patch(`${LEASES}/leader`, 'merge', { spec: { renewTime: '2026-01-01T00:00:10.000000Z' } }),
      get(LEASES),
    ],
  },
  {
    name: 'lease-invalid',
    area: 'Lease',
    steps: [
      post(LEASES, lease('a', { leaseDurationSeconds: 0 })),
      post(LEASES, lease('b', { leaseTransitions: -1 })),
      post(LEASES, lease('c', { renewTime: 'now' })),
    ],
  },
  {
    name: 'event-core-v1',
    area: 'Event',
    steps: [
      post(EVENTS, coreEvent('r1.1')),
      patch(`${EVENTS}/r1.1`, 'merge', { count: 2, lastTimestamp: '2026-01-01T00:01:00Z' }),
      get(EVENTS),
      kubectl('get events -n {ns}'),
    ],
  },
  {
    name: 'event-core-v1-invalid',
    area: 'Event',
    steps: [
      post(
        EVENTS,
        coreEvent('e1', { involvedObject: { kind: 'Deployment', name: 'web', namespace: 'elsewhere' } }),
      ),
      post(EVENTS, coreEvent('e2', { reason: undefined, type: 'Strange' })),
    ],
  },
  {
    name: 'event-events-v1',
    area: 'Event',
    steps: [
      post(EVENTS_V1, eventV1('web.1')),
      patch(`${EVENTS_V1}/web.1`, 'merge', {
        series: { count: 2, lastObservedTime: '2026-01-01T00:01:00.000000Z' },
      }),
      get(EVENTS_V1),
    ],
  },
  {
    name: 'event-events-v1-invalid',
    area: 'Event',
    steps: [
      post(EVENTS_V1, eventV1('e1', { eventTime: undefined })),
      post(EVENTS_V1, eventV1('e2', { reportingController: undefined, action: undefined })),
      post(EVENTS_V1, eventV1('e3', { type: 'Odd' })),
    ],
  },
  {
    name: 'event-across-versions',
    area: 'Event',
    steps: [
      post(EVENTS_V1, eventV1('web.1'), { read: false }),
      get(`${EVENTS}/web.1`),
      post(EVENTS, coreEvent('r1.1'), { read: false }),
      get(`${EVENTS_V1}/r1.1`),
    ],
  },
  {
    name: 'secret-defaults-stringdata',
    area: 'Secret',
    steps: [
      post(SECRETS, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's1' },
        stringData: { token: 'abc' },
      }),
      post(SECRETS, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's2' },
        type: 'kubernetes.io/basic-auth',
        stringData: { username: 'u', password: 'p' },
        data: { username: 'eA==' },
      }),
      patch(`${SECRETS}/s1`, 'merge', { stringData: { other: 'x' } }),
      patch(`${SECRETS}/s1`, 'merge', { type: 'kubernetes.io/tls' }),
      get(SECRETS),
    ],
  },
  {
    name: 'secret-invalid',
    area: 'Secret',
    steps: [
      post(SECRETS, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's1' },
        data: { 'bad key': 'eA==' },
      }),
      post(SECRETS, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's2' },
        data: { a: 'not base64!' },
      }),
      post(SECRETS, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 's3' },
        type: 'kubernetes.io/tls',
        data: {},
      }),
    ],
  },
  {
    name: 'secret-kubectl-generic',
    area: 'Secret',
    steps: [
      kubectl('create secret generic creds -n {ns} --from-literal=user=admin --from-literal=pass=s3cret'),
      kubectl('get secrets -n {ns}'),
      kubectl('get secret creds -n {ns} -o jsonpath={.data}'),
      kubectl('create secret generic creds -n {ns} --from-literal=user=admin'),
    ],
  },
  {
    name: 'configmap-crud',
    area: 'ConfigMap',
    steps: [
      post(CM, configMap('c1', { a: '1' }, { labels: { app: 'web' } }), {
        save: { rv: 'metadata.resourceVersion' },
      }),
      put(`${CM}/c1`, { ...configMap('c1', { a: '2' }), metadata: { name: 'c1', resourceVersion: '$rv' } }),
      put(`${CM}/c1`, { ...configMap('c1', { a: '3' }), metadata: { name: 'c1', resourceVersion: '$rv' } }),
      put(`${CM}/c1`, configMap('c1', { a: '4' })),
      patch(`${CM}/c1`, 'merge', { binaryData: { b: 'AAE=' } }),
      get(CM),
    ],
  },
  {
    name: 'configmap-immutable',
    area: 'ConfigMap',
    steps: [
      post(CM, { ...configMap('c1'), immutable: true }),
      patch(`${CM}/c1`, 'merge', { data: { a: '2' } }),
      patch(`${CM}/c1`, 'merge', { immutable: false }),
      patch(`${CM}/c1`, 'merge', { metadata: { labels: { ok: 'yes' } } }),
    ],
  },
  {
    name: 'configmap-invalid',
    area: 'ConfigMap',
    steps: [
      post(CM, configMap('Bad_Name')),
      post(CM, configMap('c1', { 'no/slash': 'x' })),
      post(CM, configMap('c2', { a: 'x' }, { labels: { 'bad label': 'x' } })),
      post(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} }),
    ],
  },
  {
    name: 'configmap-kubectl',
    area: 'ConfigMap',
    steps: [
      kubectl('create configmap settings -n {ns} --from-literal=mode=fast'),
      kubectl('get configmaps -n {ns} settings'),
      kubectl('label configmap settings -n {ns} tier=web'),
      kubectl('annotate configmap settings -n {ns} note=hello'),
      kubectl('get configmap settings -n {ns} --show-labels'),
      // -o json: compared as an object, managedFields as a set of managers and operations.
      kubectl('get configmap settings -n {ns} -o json'),
      kubectl('delete configmap settings -n {ns}'),
    ],
  },
];
