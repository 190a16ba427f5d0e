import fc from 'fast-check';
import type {
  DeployPolicy,
  DeployPolicySpec,
  DeployRequestSpec,
  GitHubIdentity,
} from '../../src/api/types.js';
import { evaluatePolicies, parseImageReference } from '../../src/policy/index.js';

const identity: GitHubIdentity = {
  issuer: 'https://token.actions.githubusercontent.com',
  repository: 'acme/web',
  repositoryId: '100000001',
  repositoryOwner: 'acme',
  repositoryOwnerId: '100000000',
  ref: 'refs/heads/main',
  refType: 'branch',
  jobWorkflowRef: 'acme/release/.github/workflows/deploy.yml@refs/tags/v1',
  eventName: 'push',
  environment: 'production',
};

function policy(name: string, spec: Partial<DeployPolicySpec> = {}): DeployPolicy {
  return {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployPolicy',
    metadata: { name, namespace: 'shop' },
    spec: {
      targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
      subjects: [{ repositoryId: '100000001', ref: 'refs/heads/main' }],
      images: { repositories: ['ghcr.io/acme/web'] },
      ...spec,
    },
  };
}

function spec(overrides: Partial<DeployRequestSpec> = {}): DeployRequestSpec {
  return {
    target: { kind: 'Deployment', name: 'web' },
    images: [{ container: 'web', image: 'ghcr.io/acme/web:1.2.3' }],
    source: { type: 'github-oidc' },
    ...overrides,
  };
}

const oidc = { type: 'github-oidc' as const, identity };

describe('evaluatePolicies', () => {
  test('admits a request every condition of a policy allows', () => {
    const decision = evaluatePolicies({ spec: spec(), source: oidc, policies: [policy('web')] });
    expect(decision).toMatchObject({ allowed: true, policy: { metadata: { name: 'web' } } });
  });

  test('default deny: no policy, no deploy', () => {
    expect(evaluatePolicies({ spec: spec(), source: oidc, policies: [] })).toEqual({
      allowed: false,
      reasons: [{ condition: 'NoPolicy', message: 'no DeployPolicy in this namespace (default deny)' }],
      subjectPolicies: [],
    });
  });

  test.each([
    [
      'Subject',
      { ...identity, repositoryId: '999' },
      spec(),
      {},
      'repositoryId "999" does not match "100000001"',
    ],
    ['Subject', { ...identity, ref: 'refs/heads/dev' }, spec(), {}, 'ref "refs/heads/dev"'],
    [
      'Target',
      identity,
      spec({ target: { kind: 'Deployment', name: 'api' } }),
      {},
      'does not govern Deployment "api"',
    ],
    [
      'Target',
      identity,
      spec({ target: { kind: 'StatefulSet', name: 'web' } }),
      {},
      'does not govern StatefulSet "web"',
    ],
    [
      'Container',
      identity,
      spec({ images: [{ container: 'sidecar', image: 'ghcr.io/acme/web:1' }] }),
      {},
      'container "sidecar"',
    ],
    [
      'ImageRepository',
      identity,
      spec({ images: [{ container: 'web', image: 'ghcr.io/evil/web:1' }] }),
      {},
      'does not allow images from ghcr.io/evil/web',
    ],
    [
      'ImageReference',
      identity,
      spec({ images: [{ container: 'web', image: 'ghcr.io/acme/WEB:1' }] }),
      {},
      'invalid repository path component',
    ],
    [
      'ImageDigest',
      identity,
      spec(),
      { images: { repositories: ['ghcr.io/acme/web'], requireDigest: true } },
      'requires images pinned by digest',
    ],
    [
      'Environment',
      identity,
      spec({ environment: 'staging' }),
      { environments: ['production'] },
      'the request names environment "staging", but its token was issued to a job in "production"',
    ],
    [
      'Environment',
      { ...identity, environment: 'staging' },
      spec(),
      { environments: ['production'] },
      'not "staging"',
    ],
    [
      'Environment',
      { ...identity, environment: undefined },
      spec({ environment: 'production' }),
      { environments: ['production'] },
      'the token carries no environment claim',
    ],
  ] as Array<[string, GitHubIdentity, DeployRequestSpec, Partial<DeployPolicySpec>, string]>)(
    'denies on %s: %s',
    (condition, who, request, policySpec, message) => {
      const decision = evaluatePolicies({
        spec: request,
        source: { type: 'github-oidc', identity: who },
        policies: [policy('web', policySpec)],
      });
      expect(decision.allowed).toBe(false);
      if (decision.allowed) return;
      expect(decision.reasons[0]?.condition).toBe(condition);
      expect(decision.reasons[0]?.policy).toBe('web');
      expect(decision.reasons[0]?.message).toContain(message);
    },
  );

  test('ids over names: a re-registered repository name with another id is denied', () => {
    const renamed = { ...identity, repositoryId: '555' };
    const decision = evaluatePolicies({
      spec: spec(),
      source: { type: 'github-oidc', identity: renamed },
      policies: [policy('web', { subjects: [{ repositoryId: '100000001' }] })],
    });
    expect(decision.allowed).toBe(false);
  });

  test('a GitHub source without a verified identity is denied', () => {
    const decision = evaluatePolicies({
      spec: spec(),
      source: { type: 'github-oidc' },
      policies: [policy('web')],
    });
    expect(decision).toMatchObject({
      allowed: false,
      reasons: [{ condition: 'Source', message: 'the request has no verified GitHub identity' }],
    });
  });

  test('manual requests pass only policies with allowManual; deployment events only with allowGitHubDeployments', () => {
    const manual = { type: 'kubernetes' as const };
    expect(evaluatePolicies({ spec: spec(), source: manual, policies: [policy('web')] }).allowed).toBe(false);
    expect(
      evaluatePolicies({ spec: spec(), source: manual, policies: [policy('web', { allowManual: true })] })
        .allowed,
    ).toBe(true);
    const deployment = { type: 'github-deployment' as const, identity };
    const byId = { subjects: [{ repositoryId: '100000001' }] };
    expect(
      evaluatePolicies({ spec: spec(), source: deployment, policies: [policy('web', byId)] }).allowed,
    ).toBe(false);
    expect(
      evaluatePolicies({
        spec: spec(),
        source: deployment,
        policies: [policy('web', { ...byId, allowGitHubDeployments: true })],
      }).allowed,
    ).toBe(true);
  });

  test.each([
    ['a subject ref rule', { subjects: [{ repositoryId: '100000001', ref: 'refs/heads/main' }] }, 'ref rule'],
    [
      'a subject refType rule',
      { subjects: [{ repositoryId: '100000001', refType: 'branch' }] },
      'refType rule',
    ],
    [
      'a subject environment rule',
      { subjects: [{ repositoryId: '100000001', environment: 'production' }] },
      'environment rule',
    ],
    [
      'a claims.ref rule',
      { subjects: [{ repositoryId: '100000001', claims: { ref: 'refs/heads/main' } }] },
      'claims.ref rule',
    ],
    [
      'an environments rule',
      { subjects: [{ repositoryId: '100000001' }], environments: ['production'] },
      'environments rule',
    ],
  ] as Array<[string, Partial<DeployPolicySpec>, string]>)(
    "deployment events are refused by a policy with %s (their ref and environment are the creator's word); OIDC tokens are not",
    (_name, rules, message) => {
      const admits = policy('web', { ...rules, allowGitHubDeployments: true });
      const webhook = evaluatePolicies({
        spec: spec({ environment: 'production' }),
        source: { type: 'github-deployment', identity },
        policies: [admits],
      });
      expect(webhook).toMatchObject({ allowed: false, reasons: [{ condition: 'Source' }] });
      expect(!webhook.allowed && webhook.reasons[0]?.message).toContain(message);
      expect(
        evaluatePolicies({ spec: spec({ environment: 'production' }), source: oidc, policies: [admits] })
          .allowed,
      ).toBe(true);
    },
  );

  test('globs only where asked; a reusable workflow is pinned by job_workflow_ref and claims', () => {
    const pinned = policy('release', {
      subjects: [
        {
          repositoryOwnerId: '100000000',
          jobWorkflowRef: 'glob:acme/release/.github/workflows/deploy.yml@refs/tags/v*',
          claims: { event_name: 'push' },
        },
      ],
      targets: [{ kind: 'Deployment', name: 'glob:web*', containers: ['*'] }],
      images: { repositories: ['glob:ghcr.io/acme/*'] },
    });
    expect(evaluatePolicies({ spec: spec(), source: oidc, policies: [pinned] }).allowed).toBe(true);
    const otherWorkflow = {
      ...identity,
      jobWorkflowRef: 'acme/web/.github/workflows/yolo.yml@refs/heads/main',
    };
    expect(
      evaluatePolicies({
        spec: spec(),
        source: { type: 'github-oidc', identity: otherWorkflow },
        policies: [pinned],
      }).allowed,
    ).toBe(false);
    const unknownClaim = policy('x', { subjects: [{ claims: { no_such_claim: 'x' } }] });
    expect(evaluatePolicies({ spec: spec(), source: oidc, policies: [unknownClaim] }).allowed).toBe(false);
  });

  test('the first admitting policy in name order wins; denials list every policy', () => {
    const decision = evaluatePolicies({ spec: spec(), source: oidc, policies: [policy('b'), policy('a')] });
    expect(decision).toMatchObject({ allowed: true, policy: { metadata: { name: 'a' } } });
    const denied = evaluatePolicies({
      spec: spec({ target: { kind: 'Deployment', name: 'nope' } }),
      source: oidc,
      policies: [policy('b'), policy('a')],
    });
    expect(denied.allowed ? [] : denied.reasons.map((r) => r.policy)).toEqual(['a', 'b']);
  });

  test('a subject with no fields matches nothing', () => {
    expect(
      evaluatePolicies({ spec: spec(), source: oidc, policies: [policy('web', { subjects: [{}] })] }).allowed,
    ).toBe(false);
  });

  const hostile = fc.oneof(
    fc.string(),
    fc.constantFrom(
      '__proto__',
      'constructor',
      'glob:**',
      '*',
      '../../etc',
      'ghcr.io/acme/web/../evil',
      '\u0000',
      'ghcr.io/acme/web:1 ',
    ),
  );

  test('property: never admits an image whose repository is not allowed, never throws', () => {
    fc.assert(
      fc.property(hostile, hostile, hostile, (image, container, name) => {
        const decision = evaluatePolicies({
          spec: spec({ target: { kind: 'Deployment', name }, images: [{ container, image }] }),
          source: oidc,
          policies: [policy('p', { targets: [{ kind: 'Deployment', name: 'glob:**', containers: ['*'] }] })],
        });
        if (!decision.allowed) return true;
        return parseImageReference(image).repository === 'ghcr.io/acme/web';
      }),
      { numRuns: 1000 },
    );
  });

  test('property: without allowManual, manual requests are never admitted; without subjects, GitHub ones neither', () => {
    fc.assert(
      fc.property(fc.boolean(), hostile, (requireDigest, image) => {
        const policies = [
          policy('p', { subjects: [], images: { repositories: ['glob:**'], requireDigest } }),
        ];
        const request = spec({ images: [{ container: 'web', image }] });
        return (
          !evaluatePolicies({ spec: request, source: { type: 'kubernetes' }, policies }).allowed &&
          !evaluatePolicies({ spec: request, source: oidc, policies }).allowed
        );
      }),
    );
  });
});
