/**
 * Property-based security tests of the policy decision (src/policy/evaluate-policies.ts): for
 * generated policies, identities and requests, evaluatePolicies admits exactly what an independent
 * oracle of docs/policy.md admits, names the condition the oracle says failed, and never admits a
 * repository, ref, workflow, environment, target, container or image registry the policy does not
 * allow. Complements test/policy/evaluate-policies.test.ts (examples; image repository only).
 */
import fc from 'fast-check';
import type {
  DeployPolicy,
  DeployRequestSpec,
  GitHubIdentity,
  PolicySubject,
  SourceType,
  WorkloadKind,
} from '../../src/api/types.js';
import { evaluatePolicies, type DenialCondition } from '../../src/policy/index.js';
import { oracleMatch } from './policy-oracle.js';

const RUNS = { numRuns: 1000 };

// ---------------------------------------------------------------------------------------------
// Generated worlds: small pools, so that matches, near misses and confusables are all frequent.

const REPOSITORIES = [
  'acme/web',
  'acme/api',
  'ACME/web',
  'acme/web\u200b',
  'ａｃｍｅ/web',
  'evil/web',
  'acme/web-evil',
];
const REFS = ['refs/heads/main', 'refs/heads/dev', 'refs/heads/main/x', 'refs/tags/v1', 'refs/heads/MAIN'];
const ENVIRONMENTS = ['production', 'staging', 'Production', 'production\u200b'];
const WORKFLOWS = ['Deploy', 'deploy', 'Deploy\u202e'];
const KINDS: WorkloadKind[] = ['Deployment', 'StatefulSet', 'CronJob'];

interface World {
  source: SourceType;
  identity: GitHubIdentity | undefined;
  policies: DeployPolicy[];
  spec: DeployRequestSpec;
  /** For each image of the spec: its repository and digest as the generator built it, or invalid. */
  images: Array<{ valid: boolean; repository: string; digest: boolean }>;
}

const identityArb: fc.Arbitrary<GitHubIdentity> = fc
  .record(
    {
      repository: fc.constantFrom(...REPOSITORIES),
      repositoryId: fc.constantFrom('100', '200'),
      ref: fc.constantFrom(...REFS),
      environment: fc.constantFrom(...ENVIRONMENTS),
      workflow: fc.constantFrom(...WORKFLOWS),
      workflowRef: fc.constantFrom(
        'acme/web/.github/workflows/deploy.yml@refs/heads/main',
        'acme/web/.github/workflows/yolo.yml@refs/heads/main',
        'evil/web/.github/workflows/deploy.yml@refs/heads/main',
      ),
    },
    { requiredKeys: ['repository', 'repositoryId'] },
  )
  .map((i) => ({
    issuer: 'https://token.actions.githubusercontent.com',
    repositoryOwner: i.repository.split('/')[0]!,
    repositoryOwnerId: '1',
    ...i,
  }));

const SUBJECT_POOLS = {
  repository: [...REPOSITORIES, 'glob:acme/*', 'glob:*/web', 'glob:acme/**', 'glob:**', 'glob:acme/w?b'],
  repositoryId: ['100', '200', 'glob:1*'],
  ref: [...REFS, 'glob:refs/heads/*', 'glob:refs/**', 'glob:refs/tags/v*'],
  environment: [...ENVIRONMENTS, 'glob:prod*'],
  workflowRef: [
    'acme/web/.github/workflows/deploy.yml@refs/heads/main',
    'glob:acme/*/.github/workflows/deploy.yml@refs/heads/main',
    'glob:acme/web/.github/workflows/*.yml@refs/heads/*',
  ],
  workflow: [...WORKFLOWS, 'glob:D*'],
} as const;
type PoolField = keyof typeof SUBJECT_POOLS;

/** A subject of one or two fields, each the identity's own value (often) or one from the pools. */
function subjectArb(identity: GitHubIdentity | undefined): fc.Arbitrary<PolicySubject> {
  const fields = Object.keys(SUBJECT_POOLS) as PoolField[];
  const value = (field: PoolField) => {
    const own = identity?.[field];
    const pool = fc.constantFrom<string>(...SUBJECT_POOLS[field]);
    return own === undefined
      ? pool
      : fc.oneof({ weight: 3, arbitrary: fc.constant(own) }, { weight: 2, arbitrary: pool });
  };
  return fc
    .uniqueArray(fc.constantFrom(...fields), { minLength: 1, maxLength: 2 })
    .chain((chosen) => fc.tuple(...chosen.map((field) => value(field).map((v) => [field, v] as const))))
    .map((entries) => {
      const subject: PolicySubject = {};
      for (const [field, v] of entries) {
        if (field === 'workflow') subject.claims = { workflow: v };
        else subject[field] = v;
      }
      return subject;
    });
}

const REGISTRIES = ['ghcr.io', 'docker.io', 'GHCR.io', 'evil.io', 'localhost:5000', null];
const PATHS = ['acme/web', 'acme/web', 'acme/api', 'acme/web/sub', 'nginx', 'evil/web', 'acme/Web'];
const imageArb = fc
  .record({
    registry: fc.constantFrom(...REGISTRIES),
    path: fc.constantFrom(...PATHS),
    tag: fc.constantFrom(null, '1.2.3', 'latest', null, '1.2.3', ''),
    digest: fc.boolean(),
  })
  .map(({ registry, path, tag, digest }) => {
    const image = `${registry === null ? '' : `${registry}/`}${path}${tag === null ? '' : `:${tag}`}${digest ? `@sha256:${'d'.repeat(64)}` : ''}`;
    const host = registry ?? 'docker.io';
    const fullPath = host === 'docker.io' && !path.includes('/') ? `library/${path}` : path;
    const valid = path === path.toLowerCase() && tag !== '';
    return { image, valid, repository: `${host}/${fullPath}`, digest };
  });

const REPOSITORY_PATTERNS = [
  'ghcr.io/acme/web',
  'docker.io/library/nginx',
  'ghcr.io/acme/web/sub',
  'GHCR.io/acme/web',
  'ghcr.io/ACME/web',
  'ghcr.io/acme/web\u200b',
  'nginx',
  'glob:ghcr.io/acme/*',
  'glob:ghcr.io/**',
  'glob:*/acme/web',
  'glob:docker.io/*/nginx',
  'glob:**',
];

interface RequestPart {
  source: SourceType;
  identity: GitHubIdentity | undefined;
  target: { kind: WorkloadKind; name: string };
  images: Array<[string, { image: string; valid: boolean; repository: string; digest: boolean }]>;
  environment: string | null;
}

const requestArb: fc.Arbitrary<RequestPart> = fc.record({
  source: fc.constantFrom<SourceType>(
    'github-oidc',
    'github-oidc',
    'github-oidc',
    'github-deployment',
    'kubernetes',
  ),
  identity: fc.option(identityArb, { freq: 10 }).map((i) => i ?? undefined),
  target: fc.record({
    kind: fc.constantFrom(...KINDS),
    name: fc.constantFrom('web', 'api', 'web-1', 'web-12', 'WEB'),
  }),
  images: fc.uniqueArray(fc.tuple(fc.constantFrom('web', 'sidecar', 'init'), imageArb), {
    minLength: 1,
    maxLength: 2,
    selector: ([c]) => c,
  }),
  environment: fc.option(fc.constantFrom(...ENVIRONMENTS)),
});

/** A policy biased towards the request: each value is often the request's own, else from the pools. */
function policyArb(name: string, r: RequestPart, targets: number): fc.Arbitrary<DeployPolicy> {
  const often = <T>(own: T, other: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 3, arbitrary: fc.constant(own) }, { weight: 2, arbitrary: other });
  const containers = r.images.map(([c]) => c);
  const target = fc.record({
    kind: often(r.target.kind, fc.constantFrom(...KINDS)),
    name: often(
      r.target.name,
      fc.constantFrom('web', 'api', 'glob:web*', 'glob:*', 'glob:web-?', 'WEB', 'web\u200b'),
    ),
    containers: often(containers, fc.subarray(['web', 'sidecar', '*'])),
  });
  return fc
    .record(
      {
        allowManual: fc.boolean(),
        allowGitHubDeployments: fc.boolean(),
        subjects: fc.array(subjectArb(r.identity), {
          minLength: r.source === 'kubernetes' ? 0 : 1,
          maxLength: 2,
        }),
        targets: fc.array(target, { minLength: 1, maxLength: targets }),
        repositories: often(
          r.images.map(([, i]) => i.repository),
          fc.subarray(REPOSITORY_PATTERNS, { maxLength: 3 }),
        ),
        requireDigest: fc.boolean(),
        environments: often(
          r.environment === null ? [] : [r.environment],
          fc.subarray([...ENVIRONMENTS, 'glob:prod*']),
        ),
      },
      { requiredKeys: ['subjects', 'targets', 'repositories'] },
    )
    .map((p) => ({
      apiVersion: 'keyless.dev/v1alpha1',
      kind: 'DeployPolicy',
      metadata: { name, namespace: 'shop' },
      spec: {
        targets: p.targets,
        subjects: p.subjects,
        images: {
          repositories: p.repositories,
          ...(p.requireDigest !== undefined ? { requireDigest: p.requireDigest } : {}),
        },
        ...(p.allowManual !== undefined ? { allowManual: p.allowManual } : {}),
        ...(p.allowGitHubDeployments !== undefined
          ? { allowGitHubDeployments: p.allowGitHubDeployments }
          : {}),
        ...(p.environments !== undefined ? { environments: p.environments } : {}),
      },
    }));
}

function worldArb(targetsPerPolicy: number): fc.Arbitrary<World> {
  return requestArb.chain((r) =>
    fc
      .constantFrom(0, 1, 1, 1, 2, 3)
      .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => policyArb(`p${i}`, r, targetsPerPolicy))))
      .map((policies): World => ({
        source: r.source,
        identity: r.identity,
        policies,
        spec: {
          target: r.target,
          images: r.images.map(([container, i]) => ({ container, image: i.image })),
          ...(r.environment !== null ? { environment: r.environment } : {}),
          source: { type: r.source },
        },
        images: r.images.map(([, i]) => i),
      })),
  );
}

// ---------------------------------------------------------------------------------------------
// The oracle: docs/policy.md "How a request is matched", step by step, on the generated shapes.

function subjectMatches(subject: PolicySubject, identity: GitHubIdentity): boolean {
  const checks: Array<[string, string | undefined]> = [];
  for (const field of ['repository', 'repositoryId', 'ref', 'environment', 'workflowRef'] as const) {
    if (subject[field] !== undefined) checks.push([subject[field], identity[field]]);
  }
  if (subject.claims?.workflow !== undefined) checks.push([subject.claims.workflow, identity.workflow]);
  return checks.length > 0 && checks.every(([pattern, value]) => oracleMatch(pattern, value));
}

/** The first condition of `policy` that fails, or undefined when it admits the request. */
function oracleDenial(policy: DeployPolicy, world: World, anyTarget: boolean): DenialCondition | undefined {
  const spec = policy.spec;
  const { source, identity } = world;
  if (source === 'kubernetes') {
    if (spec.allowManual !== true) return 'Source';
  } else {
    if (source === 'github-deployment' && spec.allowGitHubDeployments !== true) return 'Source';
    // A deployment event's ref and environment are its creator's word: rules on them refuse it.
    if (
      source === 'github-deployment' &&
      (spec.environments !== undefined ||
        (spec.subjects ?? []).some((s) => s.ref !== undefined || s.environment !== undefined))
    )
      return 'Source';
    if (identity === undefined) return 'Source';
    if (!(spec.subjects ?? []).some((s) => subjectMatches(s, identity))) return 'Subject';
  }
  const request = world.spec;
  const targets = spec.targets.filter(
    (t) => t.kind === request.target.kind && oracleMatch(t.name, request.target.name),
  );
  if (targets.length === 0) return 'Target';
  const containersOk = (containers: string[]) =>
    request.images.every(({ container }) => containers.includes('*') || containers.includes(container));
  if (!(anyTarget ? targets.some((t) => containersOk(t.containers)) : containersOk(targets[0]!.containers)))
    return 'Container';
  for (const image of world.images) {
    if (!image.valid) return 'ImageReference';
    if (!spec.images.repositories.some((pattern) => oracleMatch(pattern, image.repository)))
      return 'ImageRepository';
    if (spec.images.requireDigest === true && !image.digest) return 'ImageDigest';
  }
  // A verified identity binds the environment (absent in the request: the token's).
  const environment =
    source === 'kubernetes' ? request.environment : (request.environment ?? identity?.environment);
  if (source !== 'kubernetes' && identity !== undefined) {
    if (identity.environment !== undefined && environment !== identity.environment) return 'Environment';
    if (identity.environment === undefined && spec.environments !== undefined) return 'Environment';
  }
  if (
    spec.environments !== undefined &&
    (environment === undefined || !spec.environments.includes(environment))
  )
    return 'Environment';
  return undefined;
}

function decide(world: World) {
  return evaluatePolicies({
    spec: world.spec,
    source: { type: world.source, ...(world.identity ? { identity: world.identity } : {}) },
    policies: world.policies,
  });
}

describe('policy evaluation against an independent oracle', () => {
  test('one target per policy: admitted exactly when the oracle admits, by the first admitting policy in name order', () => {
    fc.assert(
      fc.property(worldArb(1), (world) => {
        const decision = decide(world);
        const admitting = world.policies.filter((p) => oracleDenial(p, world, false) === undefined);
        expect(decision.allowed).toBe(admitting.length > 0);
        if (decision.allowed) expect(decision.policy.metadata.name).toBe(admitting[0]!.metadata.name);
      }),
      RUNS,
    );
  });

  test('a denial names, for every policy in name order, the condition the oracle says failed first', () => {
    fc.assert(
      fc.property(worldArb(1), (world) => {
        const decision = decide(world);
        fc.pre(!decision.allowed);
        if (decision.allowed) return;
        if (world.policies.length === 0) {
          expect(decision.reasons.map((r) => r.condition)).toEqual(['NoPolicy']);
          return;
        }
        expect(decision.reasons.map((r) => [r.policy, r.condition])).toEqual(
          world.policies.map((p) => [p.metadata.name, oracleDenial(p, world, false)]),
        );
      }),
      RUNS,
    );
  });

  test('several targets per policy: whatever is admitted, the oracle admits too (never more permissive)', () => {
    fc.assert(
      fc.property(worldArb(3), (world) => {
        const decision = decide(world);
        if (decision.allowed) expect(oracleDenial(decision.policy, world, true)).toBeUndefined();
      }),
      RUNS,
    );
  });

  test('an admitted request is allowed in every dimension by the admitting policy (direct checks)', () => {
    fc.assert(
      fc.property(worldArb(2), (world) => {
        const decision = decide(world);
        if (!decision.allowed) return;
        const spec = decision.policy.spec;
        const { identity, source } = world;
        if (source === 'kubernetes') {
          expect(spec.allowManual).toBe(true);
        } else {
          expect(identity).toBeDefined();
          if (source === 'github-deployment') expect(spec.allowGitHubDeployments).toBe(true);
          // Repository, ref, environment, workflow: some subject's every set field matches.
          expect((spec.subjects ?? []).some((s) => subjectMatches(s, identity!))).toBe(true);
        }
        const targets = spec.targets.filter(
          (t) => t.kind === world.spec.target.kind && oracleMatch(t.name, world.spec.target.name),
        );
        expect(targets.length).toBeGreaterThan(0);
        for (const [index, { container }] of world.spec.images.entries()) {
          expect(targets.some((t) => t.containers.includes('*') || t.containers.includes(container))).toBe(
            true,
          );
          const image = world.images[index]!;
          expect(image.valid).toBe(true);
          // The registry (and path) is one the policy names: GHCR.io is not ghcr.io, evil.io is not either.
          expect(spec.images.repositories.some((p) => oracleMatch(p, image.repository))).toBe(true);
          if (spec.images.requireDigest) expect(image.digest).toBe(true);
        }
        const environment = world.spec.environment ?? identity?.environment;
        if (spec.environments) expect(spec.environments).toContain(environment);
        if (source !== 'kubernetes') {
          // The token's environment, when it has one, is the request's; environment rules need one.
          if (identity?.environment !== undefined) expect(environment).toBe(identity.environment);
          if (spec.environments) expect(identity?.environment).toBeDefined();
        }
        if (source === 'github-deployment') {
          expect(spec.environments).toBeUndefined();
          expect((spec.subjects ?? []).every((s) => s.ref === undefined && s.environment === undefined)).toBe(
            true,
          );
        }
      }),
      RUNS,
    );
  });

  test('a literal policy never admits a confusable identity, target, container or image of the values it names', () => {
    const base = (): DeployPolicy => ({
      apiVersion: 'keyless.dev/v1alpha1',
      kind: 'DeployPolicy',
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
        subjects: [{ repository: 'acme/web', ref: 'refs/heads/main', claims: { workflow: 'Deploy' } }],
        images: { repositories: ['ghcr.io/acme/web'] },
        environments: ['production'],
      },
    });
    const genuine: GitHubIdentity = {
      issuer: 'https://token.actions.githubusercontent.com',
      repository: 'acme/web',
      repositoryId: '100',
      repositoryOwner: 'acme',
      repositoryOwnerId: '1',
      ref: 'refs/heads/main',
      workflow: 'Deploy',
      environment: 'production',
    };
    const spec = (): DeployRequestSpec => ({
      target: { kind: 'Deployment', name: 'web' },
      images: [{ container: 'web', image: 'ghcr.io/acme/web:1' }],
      environment: 'production',
      source: { type: 'github-oidc' },
    });
    const variants = (v: string): string[] => [
      v.toUpperCase(),
      v.charAt(0).toUpperCase() + v.slice(1),
      `${v}\u200b`,
      `\u200b${v}`,
      v.replace('a', '\u0430').replace('e', '\u0435').replace('o', '\u043e'),
      [...v]
        .map((c) => (c >= '!' && c <= '~' ? String.fromCharCode(c.charCodeAt(0) - 0x21 + 0xff01) : c))
        .join(''),
      `${v}\u202e`,
      `${v} `,
      `${v}\n`,
      `${v}/`,
    ];
    const dimension = fc.constantFrom(
      'repository',
      'ref',
      'workflow',
      'environment',
      'target',
      'container',
      'registry',
    );
    fc.assert(
      fc.property(dimension, fc.nat(), (which, pick) => {
        const identity = { ...genuine };
        const request = spec();
        expect(
          evaluatePolicies({ spec: request, source: { type: 'github-oidc', identity }, policies: [base()] })
            .allowed,
        ).toBe(true);
        const choose = (v: string) => {
          const list = variants(v).filter((x) => x !== v);
          return list[pick % list.length]!;
        };
        if (which === 'repository') identity.repository = choose('acme/web');
        if (which === 'ref') identity.ref = choose('refs/heads/main');
        if (which === 'workflow') identity.workflow = choose('Deploy');
        if (which === 'environment') request.environment = choose('production');
        if (which === 'target') request.target = { kind: 'Deployment', name: choose('web') };
        if (which === 'container')
          request.images = [{ container: choose('web'), image: 'ghcr.io/acme/web:1' }];
        if (which === 'registry')
          request.images = [{ container: 'web', image: `${choose('ghcr.io')}/acme/web:1` }];
        const decision = evaluatePolicies({
          spec: request,
          source: { type: 'github-oidc', identity },
          policies: [base()],
        });
        expect({ which, allowed: decision.allowed }).toEqual({ which, allowed: false });
      }),
      RUNS,
    );
  });
});
