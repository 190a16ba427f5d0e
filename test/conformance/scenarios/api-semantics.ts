/**
 * The API machinery every client relies on: server-side apply and its conflicts, every patch type,
 * label and field selectors, pagination, resourceVersion semantics on list and watch (resume,
 * 410 Gone and relist), deletion with finalizers and of namespaces, dry run, and the same calls
 * through the project's client-node adapter.
 */
import { RESOURCE_TYPES } from '../../../src/kube/resource-types.js';
import type { Scenario } from '../scenario.js';
import { deployPolicy, deployRequest } from './custom-resources.js';
import { CM, DP, DR, LEASES, SECRETS, configMap, del, get, kubectl, patch, post, put } from './steps.js';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

const applied = (name: string, data: Record<string, string>): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data });

const labelled = (name: string, labels: Record<string, string>): Record<string, unknown> =>
  configMap(name, { a: '1' }, { labels });

/** The adapter's client for ConfigMaps (the project itself lists no ConfigMaps). */
const CONFIG_MAPS = { ...RESOURCE_TYPES.secrets, plural: 'configmaps', kind: 'ConfigMap' };

/**
 * Five Secrets: pagination is compared on Secrets, which no controller adds to a new namespace
 * (ConfigMaps get kube-root-ca.crt from kube-controller-manager).
 */
const FIVE = ['s3', 's1', 's5', 's2', 's4'].map((name) =>
  post(
    SECRETS,
    { apiVersion: 'v1', kind: 'Secret', metadata: { name }, stringData: { a: name } },
    { read: false },
  ),
);

export const API_SCENARIOS: Scenario[] = [
  {
    name: 'ssa-create-and-owners',
    area: 'apply',
    steps: [
      patch(`${CM}/c1?fieldManager=alpha`, 'apply', applied('c1', { a: '1', b: '2' })),
      patch(`${CM}/c1?fieldManager=beta`, 'apply', applied('c1', { c: '3' })),
      // alpha no longer applies b: b is removed (alpha owned it alone).
      patch(`${CM}/c1?fieldManager=alpha`, 'apply', applied('c1', { a: '1' })),
      patch(`${CM}/c1?fieldManager=gamma`, 'merge', { data: { d: '4' } }),
    ],
  },
  {
    name: 'ssa-conflict-and-force',
    area: 'apply',
    steps: [
      patch(`${CM}/c1?fieldManager=alpha`, 'apply', applied('c1', { a: '1' })),
      patch(`${CM}/c1?fieldManager=beta`, 'apply', applied('c1', { a: '2' })),
      // Same value: shared ownership, no conflict.
      patch(`${CM}/c1?fieldManager=gamma`, 'apply', applied('c1', { a: '1' })),
      patch(`${CM}/c1?fieldManager=beta&force=true`, 'apply', applied('c1', { a: '2' })),
    ],
  },
  {
    name: 'ssa-conflict-with-update',
    area: 'apply',
    steps: [
      post(`${CM}?fieldManager=editor`, configMap('c1', { a: '1' })),
      patch(`${CM}/c1?fieldManager=applier`, 'apply', applied('c1', { a: '2' })),
      patch(`${CM}/c1?fieldManager=applier`, 'apply', applied('c1', { b: '2' })),
    ],
  },
  {
    name: 'ssa-invalid-requests',
    area: 'apply',
    steps: [
      patch(`${CM}/c1`, 'apply', applied('c1', { a: '1' })),
      patch(
        `${CM}/c1?fieldManager=alpha`,
        'apply',
        JSON.stringify({ kind: 'ConfigMap', metadata: { name: 'c1' } }),
      ),
      patch(`${CM}/c1?fieldManager=alpha`, 'apply', applied('other', { a: '1' })),
      patch(`${CM}/c1?fieldManager=alpha`, 'apply', '{not yaml: ['),
    ],
  },
  {
    name: 'ssa-custom-resource-kubectl',
    area: 'apply',
    steps: [
      kubectl('apply --server-side -n {ns} -f -', { stdin: JSON.stringify(deployPolicy('p1')) }),
      kubectl('apply --server-side --field-manager=other -n {ns} -f -', {
        stdin: JSON.stringify(deployPolicy('p1', { allowManual: true, subjects: [] })),
      }),
      kubectl('apply --server-side --field-manager=other --force-conflicts -n {ns} -f -', {
        stdin: JSON.stringify(deployPolicy('p1', { allowManual: true })),
      }),
      get(`${DP}/p1`),
    ],
  },
  {
    name: 'patch-json-operations',
    area: 'patch',
    steps: [
      post(CM, configMap('c1', { a: '1', b: '2' }, { labels: { app: 'web' } })),
      patch(`${CM}/c1`, 'json', [
        { op: 'test', path: '/data/a', value: '1' },
        { op: 'replace', path: '/data/a', value: 'one' },
        { op: 'add', path: '/data/c', value: '3' },
        { op: 'remove', path: '/data/b' },
        { op: 'copy', from: '/data/c', path: '/data/d' },
        { op: 'move', from: '/data/d', path: '/data/e' },
      ]),
      patch(`${CM}/c1`, 'json', [{ op: 'test', path: '/data/a', value: 'wrong' }]),
      patch(`${CM}/c1`, 'json', [{ op: 'remove', path: '/data/missing' }]),
      patch(`${CM}/c1`, 'json', [{ op: 'jump', path: '/data/a' }]),
      patch(`${CM}/c1`, 'json', { op: 'add' }),
    ],
  },
  {
    name: 'patch-merge',
    area: 'patch',
    steps: [
      post(CM, configMap('c1', { a: '1', b: '2' }, { labels: { app: 'web', tier: 'x' } })),
      patch(`${CM}/c1`, 'merge', { data: { a: null, c: '3' }, metadata: { labels: { tier: null } } }),
      patch(`${CM}/c1`, 'merge', '{broken'),
      patch(`${CM}/c1`, 'merge', { data: { a: 5 } }),
      patch(`${CM}/c1`, 'merge', { metadata: { name: 'renamed' } }),
    ],
  },
  {
    name: 'patch-strategic',
    area: 'patch',
    steps: [
      post(CM, configMap('c1', { a: '1' }, { finalizers: ['x/y'], labels: { app: 'web' } })),
      patch(`${CM}/c1`, 'strategic', { metadata: { finalizers: ['x/z'] }, data: { b: '2' } }),
      patch(`${CM}/c1`, 'strategic', { metadata: { $deleteFromPrimitiveList: { finalizers: ['x/y'] } } }),
      patch(`${CM}/c1`, 'strategic', { data: { $patch: 'replace', only: 'this' } }),
      patch(`${CM}/c1`, 'json', [{ op: 'remove', path: '/metadata/finalizers' }]),
    ],
  },
  {
    name: 'patch-custom-resource-types',
    area: 'patch',
    steps: [
      post(DP, deployPolicy('p1')),
      patch(`${DP}/p1`, 'strategic', { spec: { allowManual: true } }),
      patch(`${DP}/p1`, 'merge', {
        spec: { targets: [{ kind: 'Deployment', name: 'api', containers: ['api'] }] },
      }),
      patch(`${DP}/p1`, 'json', [
        { op: 'add', path: '/spec/targets/-', value: { kind: 'CronJob', name: 'job', containers: ['job'] } },
      ]),
      patch(`${DP}/p1?fieldManager=tool`, 'apply', JSON.stringify(deployPolicy('p1', { allowManual: true }))),
      patch(`${DP}/missing`, 'merge', { spec: {} }),
    ],
  },
  {
    name: 'label-selectors',
    area: 'selectors',
    steps: [
      post(CM, labelled('c1', { app: 'web', tier: 'front' }), { read: false }),
      post(CM, labelled('c2', { app: 'web', tier: 'back' }), { read: false }),
      post(CM, labelled('c3', { app: 'db' }), { read: false }),
      get(`${CM}?labelSelector=app%3Dweb`),
      get(`${CM}?labelSelector=app%20in%20(db%2Cweb)%2Ctier!%3Dback`),
      get(`${CM}?labelSelector=!tier`),
      get(`${CM}?labelSelector=tier`),
      get(`${CM}?labelSelector=app%3D%3Dweb%2Ctier%20notin%20(front)`),
      get(`${CM}?labelSelector=app%3D(bad`),
      kubectl('get configmaps -n {ns} -l app=web -o name'),
    ],
  },
  {
    name: 'field-selectors',
    area: 'selectors',
    steps: [
      post(CM, configMap('c1'), { read: false }),
      post(CM, configMap('c2'), { read: false }),
      post(
        SECRETS,
        {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 's1' },
          type: 'kubernetes.io/basic-auth',
          stringData: { username: 'u' },
        },
        { read: false },
      ),
      get(`${CM}?fieldSelector=metadata.name%3Dc2`),
      get(`${CM}?fieldSelector=metadata.name!%3Dc2`),
      get(`${CM}?fieldSelector=metadata.namespace%3D{ns}`),
      get(`${CM}?fieldSelector=data.a%3D1`),
      get(`${SECRETS}?fieldSelector=type%3Dkubernetes.io%2Fbasic-auth`),
      kubectl('get configmaps -n {ns} --field-selector metadata.name=c1 -o name'),
    ],
  },
  {
    name: 'field-selectors-custom-resource',
    area: 'selectors',
    steps: [
      post(DR, deployRequest('r1'), { read: false }),
      post(DR, deployRequest('r2'), { read: false }),
      get(`${DR}?fieldSelector=metadata.name%3Dr2`),
      get(`${DR}?fieldSelector=spec.target.name%3Dweb`),
      get(`${DR}?labelSelector=missing`),
    ],
  },
  {
    name: 'pagination-limit-continue',
    area: 'pagination',
    steps: [
      ...FIVE,
      get(`${SECRETS}?limit=2`, { save: { next: 'metadata.continue' } }),
      get(`${SECRETS}?limit=2&continue=$next`, { save: { next: 'metadata.continue' } }),
      get(`${SECRETS}?limit=2&continue=$next`),
      get(`${SECRETS}?limit=10`),
      get(`${SECRETS}?limit=0`),
    ],
  },
  {
    name: 'pagination-with-selector-and-bad-token',
    area: 'pagination',
    steps: [
      ...['c1', 'c2', 'c3', 'c4'].map((name, index) =>
        post(CM, labelled(name, { odd: String(index % 2 === 0) }), { read: false }),
      ),
      get(`${CM}?limit=1&labelSelector=odd%3Dtrue`, { save: { next: 'metadata.continue' } }),
      get(`${CM}?limit=1&labelSelector=odd%3Dtrue&continue=$next`),
      get(`${CM}?limit=1&continue=not-a-token`),
      get(`${CM}?continue=$next&resourceVersion=0`),
    ],
  },
  {
    name: 'pagination-kubectl-chunks',
    area: 'pagination',
    steps: [
      ...FIVE,
      kubectl('get secrets -n {ns} --chunk-size=2 -o name'),
      kubectl('get secrets -n {ns} --chunk-size=2'),
    ],
  },
  {
    name: 'list-resource-version-semantics',
    area: 'resourceVersion',
    steps: [
      post(CM, configMap('c1'), { read: false, save: { rv: 'metadata.resourceVersion' } }),
      get(`${CM}?resourceVersion=0`),
      get(`${CM}?resourceVersion=$rv&resourceVersionMatch=NotOlderThan`),
      get(`${CM}?resourceVersion=$rv&resourceVersionMatch=Exact`),
      get(`${CM}?resourceVersionMatch=Exact`),
      get(`${CM}?resourceVersion=abc`),
      get(`${CM}?resourceVersion=$rv&resourceVersionMatch=Sometimes`),
      get(`${CM}/c1?resourceVersion=0`),
    ],
  },
  {
    name: 'watch-resume',
    area: 'watch',
    steps: [
      get(CM, { save: { rv: 'metadata.resourceVersion' } }),
      post(CM, configMap('c1'), { read: false }),
      patch(`${CM}/c1`, 'merge', { data: { a: '2' } }, { read: false }),
      post(CM, configMap('c2'), { read: false }),
      del(`${CM}/c1`, { read: false }),
      { watch: `${CM}?watch=1&resourceVersion=$rv`, until: { type: 'DELETED', name: 'c1' } },
      // Resuming from the middle gives only what followed.
      { watch: `${CM}?watch=1&resourceVersion=$rv&labelSelector=missing&timeoutSeconds=1`, until: 'end' },
    ],
  },
  {
    name: 'watch-gone-and-relist',
    area: 'watch',
    steps: [
      // (A resume from "1" is not compared: a real server answers 410 only once etcd has compacted,
      // every 5 minutes, and replays history before that. test/apiserver/list-pagination.test.ts
      // covers the embedded server's 410.) The relist after a 410, and the resume from it:
      post(CM, configMap('c1'), { read: false }),
      get(CM, { save: { rv: 'metadata.resourceVersion' } }),
      patch(`${CM}/c1`, 'merge', { data: { a: '2' } }, { read: false }),
      post(CM, configMap('c2'), { read: false }),
      { watch: `${CM}?watch=1&resourceVersion=$rv`, until: { type: 'ADDED', name: 'c2' } },
    ],
  },
  {
    name: 'watch-initial-state',
    area: 'watch',
    steps: [
      post(CM, configMap('c1'), { read: false }),
      post(CM, configMap('c2'), { read: false }),
      { watch: `${CM}?watch=1&resourceVersion=0`, until: { type: 'ADDED', name: 'c2' } },
      { watch: `${CM}?watch=1`, until: { type: 'ADDED', name: 'c2' } },
      {
        watch: `${CM}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`,
        until: { type: 'BOOKMARK' },
      },
    ],
  },
  {
    name: 'watch-selector-transitions',
    area: 'watch',
    steps: [
      get(CM, { save: { rv: 'metadata.resourceVersion' } }),
      post(CM, labelled('c1', { app: 'web' }), { read: false }),
      patch(`${CM}/c1`, 'merge', { metadata: { labels: { app: 'db' } } }, { read: false }),
      patch(`${CM}/c1`, 'merge', { metadata: { labels: { app: 'web' } } }, { read: false }),
      post(CM, labelled('end', { app: 'web' }), { read: false }),
      {
        watch: `${CM}?watch=1&resourceVersion=$rv&labelSelector=app%3Dweb`,
        until: { type: 'ADDED', name: 'end' },
      },
    ],
  },
  {
    name: 'watch-custom-resource-status',
    area: 'watch',
    steps: [
      get(DR, { save: { rv: 'metadata.resourceVersion' } }),
      post(DR, deployRequest('r1'), { read: false }),
      patch(`${DR}/r1/status`, 'merge', { status: { phase: 'Deploying' } }, { read: false }),
      patch(`${DR}/r1/status`, 'merge', { status: { phase: 'Succeeded' } }, { read: false }),
      del(`${DR}/r1`, { read: false }),
      { watch: `${DR}?watch=1&resourceVersion=$rv`, until: { type: 'DELETED', name: 'r1' } },
    ],
  },
  {
    name: 'delete-finalizers',
    area: 'deletion',
    steps: [
      post(CM, configMap('c1', { a: '1' }, { finalizers: ['example.com/keep'] })),
      del(`${CM}/c1`),
      del(`${CM}/c1`),
      patch(`${CM}/c1`, 'merge', { data: { a: '2' } }),
      patch(`${CM}/c1`, 'merge', { metadata: { finalizers: ['example.com/keep', 'example.com/new'] } }),
      patch(`${CM}/c1`, 'merge', { metadata: { finalizers: null } }),
    ],
  },
  {
    name: 'delete-preconditions-and-options',
    area: 'deletion',
    steps: [
      post(CM, configMap('c1'), { read: false }),
      del(`${CM}/c1`, {
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          preconditions: { uid: '00000000-0000-0000-0000-000000000000' },
        },
      }),
      del(`${CM}/c1`, {
        body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { resourceVersion: '1' } },
      }),
      del(`${CM}/c1?propagationPolicy=Sideways`),
      del(`${CM}/c1?propagationPolicy=Foreground`),
      del(`${CM}/missing`),
    ],
  },
  {
    name: 'delete-collection',
    area: 'deletion',
    steps: [
      post(CM, labelled('c1', { app: 'web' }), { read: false }),
      post(CM, labelled('c2', { app: 'web' }), { read: false }),
      post(CM, labelled('c3', { app: 'db' }), { read: false }),
      del(`${CM}?labelSelector=app%3Dweb`, { read: false }),
      get(CM),
      kubectl('delete configmaps -n {ns} -l app'),
    ],
  },
  {
    name: 'namespace-deletion',
    area: 'deletion',
    steps: [
      post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: '{ns}-x' } }),
      post('/api/v1/namespaces/{ns}-x/configmaps', configMap('c1'), { read: false }),
      del('/api/v1/namespaces/{ns}-x', { read: false }),
      post('/api/v1/namespaces/{ns}-x/configmaps', configMap('c2'), { read: false }),
      kubectl('wait --for=delete namespace/{ns}-x --timeout=60s', { codeOnly: true }),
      get('/api/v1/namespaces/{ns}-x'),
      get('/api/v1/namespaces/{ns}-x/configmaps'),
      post('/api/v1/namespaces/missing-{ns}/configmaps', configMap('c1'), { read: false }),
    ],
  },
  {
    name: 'dry-run-writes',
    area: 'dry run',
    steps: [
      post(`${CM}?dryRun=All`, configMap('c1')),
      post(CM, configMap('c2'), { read: false }),
      patch(`${CM}/c2?dryRun=All`, 'merge', { data: { a: '2' } }),
      put(`${CM}/c2?dryRun=All`, configMap('c2', { b: '1' })),
      del(`${CM}/c2?dryRun=All`),
      post(`${CM}?dryRun=Everything`, configMap('c3')),
      patch(`${CM}/c4?dryRun=All&fieldManager=x`, 'apply', applied('c4', { a: '1' })),
    ],
  },
  {
    name: 'dry-run-validation',
    area: 'dry run',
    steps: [
      post(`${DR}?dryRun=All`, deployRequest('r1', { source: { type: 'github-oidc' } })),
      post(`${DP}?dryRun=All`, deployPolicy('p1', { rollout: {} })),
      kubectl('create configmap c1 -n {ns} --from-literal=a=1 --dry-run=server -o yaml'),
      kubectl('apply --dry-run=server -n {ns} -f -', { stdin: JSON.stringify(deployRequest('r2')) }),
      kubectl('get deployrequests,configmaps -n {ns} --field-selector metadata.name!=kube-root-ca.crt'),
    ],
  },
  {
    name: 'client-adapter-crud',
    area: 'adapter',
    steps: [
      {
        client: 'create',
        type: CONFIG_MAPS,
        object: configMap('c1'),
        save: { rv: 'metadata.resourceVersion' },
      },
      { client: 'patch', type: CONFIG_MAPS, name: 'c1', patch: { data: { b: '2' } }, patchType: 'merge' },
      {
        client: 'replace',
        type: CONFIG_MAPS,
        object: { ...configMap('c1', { z: '0' }), metadata: { name: 'c1', resourceVersion: '$rv' } },
      },
      { client: 'list', type: CONFIG_MAPS },
      { client: 'delete', type: CONFIG_MAPS, name: 'c1' },
      { client: 'delete', type: CONFIG_MAPS, name: 'c1' },
      { client: 'get', type: CONFIG_MAPS, name: 'c1' },
    ],
  },
  {
    name: 'client-adapter-custom-resources',
    area: 'adapter',
    steps: [
      { client: 'create', type: RESOURCE_TYPES.deployRequests, object: deployRequest('r1') },
      { client: 'create', type: RESOURCE_TYPES.deployRequests, object: deployRequest('r1') },
      {
        client: 'patch',
        type: RESOURCE_TYPES.deployRequests,
        name: 'r1',
        patch: { status: { phase: 'Queued' } },
        patchType: 'merge',
        options: { subresource: 'status' },
      },
      {
        client: 'patch',
        type: RESOURCE_TYPES.deployRequests,
        name: 'r1',
        patch: deployRequest('r1', { reason: 'changed' }),
        patchType: 'apply',
        options: { fieldManager: 'keyless-test', force: true },
      },
      {
        client: 'list',
        type: RESOURCE_TYPES.deployRequests,
        listOptions: { fieldSelector: 'metadata.name=r1' },
      },
      { client: 'create', type: RESOURCE_TYPES.deployPolicies, object: deployPolicy('p1', { subjects: [] }) },
    ],
  },
  {
    name: 'names-and-conflicts',
    area: 'errors',
    steps: [
      post(CM, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' }, data: { a: '1' } }),
      post(CM, configMap('c1'), { read: false }),
      post(CM, configMap('c1'), { read: false }),
      get(`${CM}/missing`),
      get('/apis/keyless.dev/v1alpha1/namespaces/{ns}/deployrequests/missing'),
      put(`${CM}/c1`, configMap('c2')),
      post(CM, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wrong-kind' } }),
      post('/api/v1/namespaces/{ns}/nothings', configMap('c1')),
    ],
  },
  {
    name: 'put-creates-or-not',
    area: 'errors',
    steps: [
      put(`${CM}/c1`, configMap('c1')),
      put(`${DR}/r1`, deployRequest('r1')),
      put(`${LEASES}/l1`, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'l1' },
        spec: { holderIdentity: 'a', leaseDurationSeconds: 10 },
      }),
      put(`${SECRETS}/s1`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' } }),
    ],
  },
  {
    name: 'tables-over-http',
    area: 'tables',
    steps: [
      post(DR, deployRequest('r1'), { read: false }),
      post(CM, configMap('c1'), { read: false }),
      get(DR, { accept: TABLE }),
      get(`${DR}/r1`, { accept: TABLE }),
      get(CM, { accept: TABLE }),
      get(`${CM}?includeObject=None`, { accept: TABLE }),
    ],
  },
  {
    name: 'version-and-discovery',
    area: 'discovery',
    steps: [
      get('/version', {
        ignore: ['gitCommit', 'gitVersion', 'gitTreeState', 'buildDate', 'goVersion', 'compiler', 'platform'],
      }),
      kubectl('api-resources --api-group=keyless.dev'),
      kubectl('api-resources --api-group=coordination.k8s.io'),
      kubectl('get --raw /apis/keyless.dev'),
    ],
  },
];
