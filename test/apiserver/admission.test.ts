/**
 * The embedded API server's users and admission, driven by the real kubectl: who a request is
 * (impersonation), `kubectl auth whoami` and `can-i`, and ValidatingAdmissionPolicy evaluation
 * (match rules and selectors, conditions, variables, messages, actions, failure policy).
 */
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import type { KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { kubectl, kubectlOk, writeKubeconfig } from '../support/kubectl.js';

let server: EmbeddedApiServer;
let config: string;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  config = writeKubeconfig(server.kubeconfig());
  await kubectlOk(config, ['apply', '-f', '-'], {
    input: [
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: guarded, labels: {guard: "on"}}\n',
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: free}\n',
    ].join('---\n'),
  });
});

afterAll(async () => {
  await server.close();
});

/** A policy named `name` with one binding of the same name, on ConfigMaps. */
async function policy(
  name: string,
  spec: Record<string, unknown>,
  binding: Record<string, unknown> = {},
): Promise<void> {
  const kube = server.kubeClient();
  await kube.create(RESOURCE_TYPES.validatingAdmissionPolicies, {
    metadata: { name },
    spec: {
      matchConstraints: {
        resourceRules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            operations: ['CREATE', 'UPDATE', 'DELETE'],
            resources: ['configmaps'],
          },
        ],
      },
      ...spec,
    },
  } as KubeObject);
  await kube.create(RESOURCE_TYPES.validatingAdmissionPolicyBindings, {
    metadata: { name },
    spec: { policyName: name, validationActions: ['Deny'], ...binding },
  } as KubeObject);
}

async function removePolicy(name: string): Promise<void> {
  await server.kubeClient().delete(RESOURCE_TYPES.validatingAdmissionPolicyBindings, undefined, name);
  await server.kubeClient().delete(RESOURCE_TYPES.validatingAdmissionPolicies, undefined, name);
}

const configMap = (namespace: string, name: string, labels: Record<string, string> = {}): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels },
    data: { a: '1' },
  });

describe('users', () => {
  test('kubectl auth whoami: the playground administrator, or the impersonated user and groups', async () => {
    expect(await kubectlOk(config, ['auth', 'whoami'])).toMatch(
      /Username\s+playground-admin\s+Groups\s+\[system:masters system:authenticated\]/,
    );
    const bob = JSON.parse(
      await kubectlOk(config, ['auth', 'whoami', '--as', 'bob', '--as-group', 'sre', '-o', 'json']),
    );
    expect(bob.status.userInfo).toEqual({ username: 'bob', groups: ['sre', 'system:authenticated'] });
    const sa = JSON.parse(
      await kubectlOk(config, ['auth', 'whoami', '--as', 'system:serviceaccount:ops:bot', '-o', 'json']),
    );
    expect(sa.status.userInfo.groups).toEqual([
      'system:serviceaccounts',
      'system:serviceaccounts:ops',
      'system:authenticated',
    ]);
  });

  test('kubectl auth can-i answers yes for everyone, saying why; reviews are create-only and not stored', async () => {
    expect(await kubectlOk(config, ['auth', 'can-i', 'delete', 'namespaces', '--as', 'bob'])).toBe('yes\n');
    expect(await kubectlOk(config, ['auth', 'can-i', '--list', '-n', 'free'])).toMatch(
      /\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/,
    );
    const review = await fetch(`${server.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ spec: { resourceAttributes: { verb: 'get', resource: 'pods' } } }),
    });
    expect(review.status).toBe(201);
    expect(((await review.json()) as { status: unknown }).status).toEqual({
      allowed: true,
      reason: 'the embedded API server (playground) does not enforce RBAC: every user may do everything',
    });
    const empty = await fetch(`${server.url}/apis/authorization.k8s.io/v1/selfsubjectaccessreviews`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ spec: {} }),
    });
    expect(empty.status).toBe(422);
    const list = await fetch(`${server.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`);
    expect(list.status).toBe(405);
  });

  test('group impersonation without a user is refused', async () => {
    const response = await fetch(`${server.url}/api/v1/namespaces`, {
      headers: { 'Impersonate-Group': 'sre' },
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toBe(
      'impersonation headers other than Impersonate-User require Impersonate-User',
    );
  });
});

describe('ValidatingAdmissionPolicy', () => {
  test('deny with messageExpression and reason, by user; nothing stored; other users pass', async () => {
    await policy('only-alice', {
      validations: [
        {
          expression: "request.userInfo.username == 'alice'",
          messageExpression: "'only alice writes configmaps, not ' + request.userInfo.username",
          reason: 'Forbidden',
        },
      ],
    });
    try {
      const refused = await kubectl(config, ['create', '-f', '-', '--as', 'bob'], {
        input: configMap('free', 'x'),
      });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(
        `Error from server (Forbidden): error when creating "STDIN": configmaps "x" is forbidden: ValidatingAdmissionPolicy 'only-alice' with binding 'only-alice' denied request: only alice writes configmaps, not bob`,
      );
      expect((await kubectl(config, ['get', 'configmap', 'x', '-n', 'free'])).code).toBe(1);
      expect(
        (await kubectl(config, ['create', '-f', '-', '--as', 'alice'], { input: configMap('free', 'x') }))
          .code,
      ).toBe(0);
      // DELETE is an operation too (object null, oldObject the stored one).
      const deleted = await kubectl(config, ['delete', 'configmap', 'x', '-n', 'free', '--as', 'bob']);
      expect(deleted.stderr).toContain('only alice writes configmaps, not bob');
    } finally {
      await removePolicy('only-alice');
    }
  });

  test('namespace and object selectors, match conditions, variables; default message and 422', async () => {
    await policy(
      'guarded-names',
      {
        matchConditions: [
          {
            name: 'not-exempt',
            expression: "!has(object.metadata.labels) || !('exempt' in object.metadata.labels)",
          },
        ],
        variables: [{ name: 'prefix', expression: "'safe-'" }],
        validations: [{ expression: 'object.metadata.name.startsWith(variables.prefix)' }],
      },
      { matchResources: { namespaceSelector: { matchLabels: { guard: 'on' } } } },
    );
    try {
      const refused = await kubectl(config, ['create', '-f', '-'], { input: configMap('guarded', 'bad') });
      expect(refused.stderr).toContain(
        // 422 Invalid: kubectl prints the cause (the real server answers the same Status).
        `The configmaps "bad" is invalid: : ValidatingAdmissionPolicy 'guarded-names' with binding 'guarded-names' denied request: failed expression: object.metadata.name.startsWith(variables.prefix)`,
      );
      for (const [namespace, name, labels] of [
        ['guarded', 'safe-1', {}],
        ['free', 'bad', {}],
        ['guarded', 'bad-but-exempt', { exempt: 'yes' }],
      ] as const)
        expect(
          (await kubectl(config, ['create', '-f', '-'], { input: configMap(namespace, name, labels) })).code,
        ).toBe(0);
    } finally {
      await removePolicy('guarded-names');
    }
  });

  test('Warn warns instead of refusing; an evaluation error follows failurePolicy', async () => {
    await policy(
      'warn-only',
      { validations: [{ expression: 'false', message: 'just so you know' }] },
      { validationActions: ['Warn'] },
    );
    await policy('ignore-errors', {
      failurePolicy: 'Ignore',
      validations: [{ expression: 'object.missing == 1' }],
    });
    try {
      const warned = await kubectl(config, ['create', '-f', '-'], { input: configMap('free', 'warned') });
      expect(warned.code).toBe(0);
      expect(warned.stderr).toContain(
        "Warning: Validation failed for ValidatingAdmissionPolicy 'warn-only' with binding 'warn-only': just so you know",
      );
    } finally {
      await removePolicy('warn-only');
      await removePolicy('ignore-errors');
    }
    await policy('fail-errors', { validations: [{ expression: 'object.missing == 1' }] });
    try {
      const failed = await kubectl(config, ['create', '-f', '-'], { input: configMap('free', 'failed') });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain("expression 'object.missing == 1' resulted in error");
    } finally {
      await removePolicy('fail-errors');
    }
  });

  test('policies that could not be evaluated are refused when stored; defaults are filled in', async () => {
    const bad = await kubectl(config, ['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicy',
        metadata: { name: 'broken' },
        spec: { validations: [{ expression: 'object.(' }] },
      }),
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('spec.validations[0].expression');
    const binding = await kubectl(config, ['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingAdmissionPolicyBinding',
        metadata: { name: 'broken' },
        spec: { policyName: 'broken', validationActions: ['Block'] },
      }),
    });
    expect(binding.stderr).toContain('Unsupported value: "Block"');
    await policy('defaults', { validations: [{ expression: 'true' }] });
    try {
      const stored = JSON.parse(
        await kubectlOk(config, ['get', 'validatingadmissionpolicy', 'defaults', '-o', 'json']),
      );
      expect(stored.spec.failurePolicy).toBe('Fail');
      expect(stored.spec.matchConstraints).toMatchObject({
        matchPolicy: 'Equivalent',
        namespaceSelector: {},
        objectSelector: {},
        resourceRules: [{ scope: '*' }],
      });
    } finally {
      await removePolicy('defaults');
    }
  });
});
