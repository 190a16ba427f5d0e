/**
 * The project's two custom resources (crds/): create, read, list, update, the status subresource,
 * printer columns, and every schema constraint and CEL rule that refuses a bad object, including
 * changes to the immutable `spec.payload`.
 */
import type { Scenario } from '../scenario.js';
import { DP, DR, del, get, kubectl, patch, post, put } from './steps.js';

/** A valid DeployRequest (source kubernetes); `spec` fields override. */
export const deployRequest = (name: string, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'keyless.dev/v1alpha1',
  kind: 'DeployRequest',
  metadata: { name },
  spec: {
    target: { kind: 'Deployment', name: 'web' },
    images: [{ container: 'web', image: 'ghcr.io/acme/web:1.1.0' }],
    reason: 'differential',
    source: { type: 'kubernetes' },
    ...spec,
  },
});

const GITHUB = {
  issuer: 'https://token.actions.githubusercontent.com',
  repository: 'acme/web',
  repositoryId: '100000001',
  repositoryOwner: 'acme',
  repositoryOwnerId: '200000002',
  ref: 'refs/heads/main',
};

/** A valid DeployPolicy; `spec` fields override. */
export const deployPolicy = (name: string, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'keyless.dev/v1alpha1',
  kind: 'DeployPolicy',
  metadata: { name },
  spec: {
    targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
    subjects: [{ repositoryId: '100000001', ref: 'refs/heads/main' }],
    images: { repositories: ['ghcr.io/acme/web'] },
    ...spec,
  },
});

const CONDITION = {
  type: 'Ready',
  status: 'False',
  reason: 'Deploying',
  message: 'rolling out',
  lastTransitionTime: '2026-01-01T00:00:00Z',
};

export const CUSTOM_RESOURCE_SCENARIOS: Scenario[] = [
  {
    name: 'dr-create-get-list',
    area: 'DeployRequest',
    steps: [
      post(DR, deployRequest('r1')),
      post(DR, deployRequest('r2', { environment: 'prod', payload: { pr: 7, labels: ['a'] } })),
      get(DR),
      get(`${DR}/r2`),
      kubectl('get dr -n {ns}'),
      kubectl('get dr -n {ns} -o wide'),
    ],
  },
  {
    name: 'dr-status-subresource',
    area: 'DeployRequest',
    steps: [
      post(DR, deployRequest('r1')),
      // A status in the main resource's body is ignored.
      patch(`${DR}/r1`, 'merge', { status: { phase: 'Succeeded' }, metadata: { labels: { a: 'b' } } }),
      put(`${DR}/r1/status`, {
        ...deployRequest('r1'),
        status: { phase: 'Deploying', conditions: [CONDITION], observedGeneration: 1 },
      }),
      patch(`${DR}/r1/status`, 'merge', { status: { phase: 'Succeeded', message: 'done' } }),
      // Spec in a status write is ignored too.
      patch(`${DR}/r1/status`, 'merge', { spec: { reason: 'changed' }, status: { message: 'again' } }),
      kubectl('get dr -n {ns} -o wide'),
    ],
  },
  {
    name: 'dr-status-invalid',
    area: 'DeployRequest',
    steps: [
      post(DR, deployRequest('r1')),
      patch(`${DR}/r1/status`, 'merge', { status: { phase: 'Exploded' } }),
      patch(`${DR}/r1/status`, 'merge', {
        status: { conditions: [{ ...CONDITION, reason: 'not a reason!', status: 'Maybe' }] },
      }),
      patch(`${DR}/r1/status`, 'merge', { status: { observedGeneration: -1 } }),
    ],
  },
  {
    name: 'dr-cel-spec-immutable',
    area: 'DeployRequest',
    steps: [
      post(DR, deployRequest('r1')),
      patch(`${DR}/r1`, 'merge', { spec: { reason: 'changed' } }),
      patch(`${DR}/r1`, 'json', [
        { op: 'replace', path: '/spec/images/0/image', value: 'ghcr.io/acme/web:2' },
      ]),
      // Metadata may change.
      patch(`${DR}/r1`, 'merge', { metadata: { annotations: { note: 'ok' } } }),
    ],
  },
  {
    name: 'dr-cel-payload-change',
    area: 'DeployRequest',
    steps: [
      post(DR, deployRequest('r1', { payload: { pr: 7, nested: { a: 'b' } } })),
      patch(`${DR}/r1`, 'merge', { spec: { payload: { pr: 8 } } }),
      patch(`${DR}/r1`, 'json', [{ op: 'add', path: '/spec/payload/extra', value: true }]),
      patch(`${DR}/r1`, 'json', [{ op: 'remove', path: '/spec/payload' }]),
      patch(`${DR}/r1`, 'merge', { spec: { payload: { nested: { a: 'b' }, pr: 7 } } }),
      get(`${DR}/r1`),
    ],
  },
  {
    name: 'dr-cel-payload-added',
    area: 'DeployRequest',
    steps: [
      post(DR, deployRequest('r1')),
      patch(`${DR}/r1`, 'merge', { spec: { payload: { added: 1 } } }),
      post(
        DR,
        deployRequest('r2', {
          payload: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i])),
        }),
      ),
    ],
  },
  {
    name: 'dr-cel-source-kubernetes',
    area: 'DeployRequest',
    steps: [
      post(DR, deployRequest('r1', { source: { type: 'kubernetes', github: GITHUB } })),
      post(DR, deployRequest('r2', { source: { type: 'kubernetes', attestation: 'abc' } })),
    ],
  },
  {
    name: 'dr-cel-source-github',
    area: 'DeployRequest',
    steps: [
      post(DR, deployRequest('r1', { source: { type: 'github-oidc' } })),
      post(DR, deployRequest('r2', { source: { type: 'github-deployment', github: GITHUB } })),
      post(
        DR,
        deployRequest('r3', { source: { type: 'github-oidc', github: { ...GITHUB, repositoryId: 'abc' } } }),
      ),
      post(DR, deployRequest('r4', { source: { type: 'github-oidc', github: { issuer: 'x' } } })),
    ],
  },
  {
    name: 'dr-schema-invalid',
    area: 'DeployRequest',
    steps: [
      post(DR, {
        ...deployRequest('r1'),
        spec: { target: { kind: 'Pod', name: 'Web' }, images: [], source: { type: 'manual' } },
      }),
      post(DR, deployRequest('r2', { images: [{ container: 'Web_1', image: 'has space' }] })),
      post(DR, deployRequest('r3', { requestedAt: 'yesterday', environment: 'x'.repeat(256) })),
      post(DR, { apiVersion: 'keyless.dev/v1alpha1', kind: 'DeployRequest', metadata: { name: 'r4' } }),
      post(DR, deployRequest('r5', { target: {} })),
      get(DR),
    ],
  },
  {
    name: 'dr-list-map-duplicate',
    area: 'DeployRequest',
    steps: [
      post(
        DR,
        deployRequest('r1', {
          images: [
            { container: 'web', image: 'a:1' },
            { container: 'web', image: 'a:2' },
          ],
        }),
      ),
      post(
        DR,
        deployRequest('r2', {
          images: Array.from({ length: 33 }, (_, i) => ({ container: `c${i}`, image: 'a' })),
        }),
      ),
    ],
  },
  {
    name: 'dr-unknown-fields',
    area: 'DeployRequest',
    steps: [
      post(`${DR}?fieldValidation=Strict`, deployRequest('r1', { colour: 'blue' })),
      post(`${DR}?fieldValidation=Warn`, deployRequest('r2', { colour: 'blue' })),
      post(`${DR}?fieldValidation=Ignore`, { ...deployRequest('r3'), extra: { a: 1 } }),
      post(`${DR}?fieldValidation=Sometimes`, deployRequest('r4')),
    ],
  },
  {
    name: 'dr-kubectl-apply',
    area: 'DeployRequest',
    steps: [
      kubectl('apply -n {ns} -f -', { stdin: JSON.stringify(deployRequest('r1')) }),
      kubectl('apply -n {ns} -f -', { stdin: JSON.stringify(deployRequest('r1')) }),
      kubectl('apply -n {ns} -f -', { stdin: JSON.stringify(deployRequest('r1', { reason: 'other' })) }),
      kubectl('get dr r1 -n {ns} -o json'),
      kubectl('get dr r1 -n {ns} -o jsonpath={.metadata.generation}'),
      kubectl('delete dr r1 -n {ns}'),
      kubectl('get dr r1 -n {ns}'),
    ],
  },
  {
    name: 'dr-finalizer-deletion',
    area: 'DeployRequest',
    steps: [
      post(DR, { ...deployRequest('r1'), metadata: { name: 'r1', finalizers: ['keyless.dev/test'] } }),
      del(`${DR}/r1`),
      // Status may still be written while deleting; spec stays immutable.
      patch(`${DR}/r1/status`, 'merge', { status: { phase: 'Failed' } }),
      patch(`${DR}/r1`, 'merge', { metadata: { finalizers: ['keyless.dev/test', 'keyless.dev/new'] } }),
      patch(`${DR}/r1`, 'json', [{ op: 'remove', path: '/metadata/finalizers' }]),
      get(DR),
    ],
  },
  {
    name: 'dp-create-defaults',
    area: 'DeployPolicy',
    steps: [
      post(DP, deployPolicy('p1')),
      post(DP, deployPolicy('p2', { rollout: {}, github: {}, allowManual: true, subjects: [] })),
      post(DP, deployPolicy('p3', { rollout: { timeoutSeconds: 30 }, github: { enabled: false } })),
      get(DP),
    ],
  },
  {
    name: 'dp-cel-subjects-or-manual',
    area: 'DeployPolicy',
    steps: [
      post(DP, deployPolicy('p1', { subjects: [] })),
      post(DP, deployPolicy('p2', { subjects: undefined, allowManual: false })),
      post(DP, deployPolicy('p3', { subjects: [], allowManual: true })),
      // The rule holds on update too.
      patch(`${DP}/p3`, 'merge', { spec: { allowManual: false } }),
    ],
  },
  {
    name: 'dp-cel-glob',
    area: 'DeployPolicy',
    steps: [
      post(DP, deployPolicy('p1', { targets: [{ kind: 'Deployment', name: 'glob:', containers: ['web'] }] })),
      post(
        DP,
        deployPolicy('p2', { targets: [{ kind: 'Deployment', name: 'glob:web-*', containers: ['web'] }] }),
      ),
      patch(`${DP}/p2`, 'json', [{ op: 'replace', path: '/spec/targets/0/name', value: 'glob:' }]),
    ],
  },
  {
    name: 'dp-cel-approver-group',
    area: 'DeployPolicy',
    steps: [
      post(DP, deployPolicy('p1', { approval: { required: 1, approvers: ['group:'] } })),
      post(DP, deployPolicy('p2', { approval: { required: 1, approvers: ['alice', 'group:sre'] } })),
      post(DP, deployPolicy('p3', { approval: { required: 1, approvers: ['has space'] } })),
    ],
  },
  {
    name: 'dp-cel-freeze-order',
    area: 'DeployPolicy',
    steps: [
      post(
        DP,
        deployPolicy('p1', {
          freezes: [{ start: '2026-12-24T00:00:00Z', end: '2026-12-20T00:00:00Z', reason: 'x' }],
        }),
      ),
      post(
        DP,
        deployPolicy('p2', { freezes: [{ start: '2026-12-24T00:00:00Z', end: '2026-12-24T00:00:00Z' }] }),
      ),
      post(
        DP,
        deployPolicy('p3', { freezes: [{ start: '2026-12-24T00:00:00Z', end: '2026-12-27T00:00:00Z' }] }),
      ),
      post(DP, deployPolicy('p4', { freezes: [{ start: 'soon', end: '2026-12-27T00:00:00Z' }] })),
    ],
  },
  {
    name: 'dp-schema-invalid',
    area: 'DeployPolicy',
    steps: [
      post(
        DP,
        deployPolicy('p1', {
          targets: [{ kind: 'Job', name: '', containers: [] }],
          images: { repositories: [] },
          rollout: { timeoutSeconds: 0 },
        }),
      ),
      post(
        DP,
        deployPolicy('p2', {
          windows: [{ days: ['Monday'], start: '25:00', end: '9:00' }],
          github: { environmentUrl: 'http://example.com' },
          subjects: [{}],
        }),
      ),
      post(DP, {
        apiVersion: 'keyless.dev/v1alpha1',
        kind: 'DeployPolicy',
        metadata: { name: 'p3' },
        spec: {},
      }),
    ],
  },
  {
    name: 'dp-generation-and-status',
    area: 'DeployPolicy',
    steps: [
      post(DP, deployPolicy('p1'), { save: { rv: 'metadata.resourceVersion' } }),
      // Metadata only: generation stays.
      patch(`${DP}/p1`, 'merge', { metadata: { labels: { team: 'web' } } }),
      put(`${DP}/p1`, {
        ...deployPolicy('p1', { allowManual: true }),
        metadata: { name: 'p1', resourceVersion: '$rv' },
      }),
      patch(`${DP}/p1`, 'merge', { spec: { allowManual: true } }),
      put(`${DP}/p1/status`, {
        ...deployPolicy('p1'),
        status: { observedGeneration: 2, conditions: [{ ...CONDITION, status: 'True', reason: 'Valid' }] },
      }),
      get(`${DP}/p1/status`),
    ],
  },
  {
    name: 'dp-kubectl-tables',
    area: 'DeployPolicy',
    steps: [
      post(DP, deployPolicy('p1', { approval: { required: 2, approvers: ['alice'] }, allowManual: true })),
      post(DR, deployRequest('r1')),
      kubectl('get dp -n {ns}'),
      kubectl('get deploypolicies.keyless.dev -n {ns} -o wide'),
      kubectl('get keyless -n {ns} -o name'),
      kubectl('get dp p1 -n {ns} -o jsonpath={.spec.rollout}'),
    ],
  },
];
