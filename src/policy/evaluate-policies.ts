/**
 * The policy decision: may this DeployRequest spec, from this source, be deployed? Default deny.
 * Policies are tried in name order and the first that admits wins; a denial names, for each
 * policy, the first condition that failed, so operators can see why.
 */
import type {
  DeployPolicy,
  DeployRequestSpec,
  GitHubIdentity,
  PolicySubject,
  SourceType,
} from '../api/types.js';
import { ImageReferenceError, parseImageReference } from './image-reference.js';
import { matchPattern } from './match-pattern.js';

export type DenialCondition =
  | 'NoPolicy'
  | 'Source'
  | 'Subject'
  | 'Target'
  | 'Container'
  | 'ImageReference'
  | 'ImageRepository'
  | 'ImageDigest'
  | 'Environment';

/** Why one policy (or none) did not admit the request. */
export interface PolicyDenial {
  policy?: string;
  condition: DenialCondition;
  message: string;
}

export interface PolicyInput {
  spec: DeployRequestSpec;
  /** The source type, with the identity only when the receiver's attestation verified. */
  source: { type: SourceType; identity?: GitHubIdentity };
  /** DeployPolicies of the request's namespace. */
  policies: DeployPolicy[];
}

export type PolicyDecision =
  | { allowed: true; policy: DeployPolicy }
  | {
      allowed: false;
      reasons: PolicyDenial[];
      /**
       * Names of the policies with a subject that matches the identity: the caller is someone they
       * know. Only their reasons may be shown to the caller; to an identity no policy names, a
       * generic refusal (the details go to logs and Events).
       */
      subjectPolicies: string[];
    };

/**
 * GitHub claim names (snake_case) to identity fields, for `claims` matchers: the fixed set a
 * policy may name (the CRD schema refuses others; a name outside it never matches).
 */
export const CLAIM_FIELDS: Readonly<Record<string, keyof GitHubIdentity>> = {
  iss: 'issuer',
  sub: 'subject',
  repository: 'repository',
  repository_id: 'repositoryId',
  repository_owner: 'repositoryOwner',
  repository_owner_id: 'repositoryOwnerId',
  repository_visibility: 'repositoryVisibility',
  ref: 'ref',
  ref_type: 'refType',
  sha: 'sha',
  workflow: 'workflow',
  workflow_ref: 'workflowRef',
  job_workflow_ref: 'jobWorkflowRef',
  environment: 'environment',
  event_name: 'eventName',
  run_id: 'runId',
  run_attempt: 'runAttempt',
  run_number: 'runNumber',
  actor: 'actor',
  actor_id: 'actorId',
  runner_environment: 'runnerEnvironment',
};

const SUBJECT_FIELDS = [
  'issuer',
  'repositoryId',
  'repositoryOwnerId',
  'repository',
  'repositoryOwner',
  'ref',
  'refType',
  'environment',
  'eventName',
  'workflowRef',
  'jobWorkflowRef',
  'runnerEnvironment',
] as const satisfies ReadonlyArray<keyof PolicySubject & keyof GitHubIdentity>;

/** The first field of a subject that does not match, or undefined when all match. */
export function subjectMismatch(subject: PolicySubject, identity: GitHubIdentity): string | undefined {
  const fields = SUBJECT_FIELDS.filter((field) => subject[field] !== undefined);
  const claims = Object.entries(subject.claims ?? {});
  if (fields.length === 0 && claims.length === 0) return 'the subject sets no field';
  for (const field of fields) {
    const expected = subject[field] as string;
    if (!matchPattern(expected, identity[field])) {
      return `${field} ${JSON.stringify(identity[field] ?? null)} does not match ${JSON.stringify(expected)}`;
    }
  }
  for (const [claim, expected] of claims) {
    const field = Object.hasOwn(CLAIM_FIELDS, claim) ? CLAIM_FIELDS[claim] : undefined;
    const actual = field ? identity[field] : undefined;
    if (!matchPattern(expected, actual))
      return `claim ${claim} ${JSON.stringify(actual ?? null)} does not match ${JSON.stringify(expected)}`;
  }
  return undefined;
}

/** Claims whose value a GitHub deployment's creator chooses (`claims` keys, snake_case). */
const CREATOR_CHOSEN_CLAIMS = ['ref', 'ref_type', 'environment', 'sha'];

/**
 * The first rule of `spec` that a GitHub deployment event cannot satisfy, described, or undefined.
 * A deployment's `ref` (and so its `sha`) and `environment` are whatever the workflow or person that
 * created it wrote (`deployments: write` is enough, on any branch, and creating a deployment passes
 * no environment protection rule), so ref and environment rules would be satisfied by the caller's
 * own word. They refuse such sources instead of being matched.
 */
export function webhookUnverifiableRule(spec: DeployPolicy['spec']): string | undefined {
  if (spec.environments !== undefined) return 'an environments rule';
  for (const subject of spec.subjects ?? []) {
    for (const field of ['ref', 'refType', 'environment'] as const)
      if (subject[field] !== undefined) return `a subject with a ${field} rule`;
    for (const claim of CREATOR_CHOSEN_CLAIMS)
      if (subject.claims && Object.hasOwn(subject.claims, claim))
        return `a subject with a claims.${claim} rule`;
  }
  return undefined;
}

function checkPolicy(policy: DeployPolicy, input: PolicyInput): PolicyDenial | undefined {
  const name = policy.metadata.name;
  const spec = policy.spec;
  const { type, identity } = input.source;
  if (type === 'kubernetes') {
    if (spec.allowManual !== true)
      return {
        policy: name,
        condition: 'Source',
        message: `policy "${name}" does not allow manual requests (allowManual is false)`,
      };
  } else {
    if (type === 'github-deployment' && spec.allowGitHubDeployments !== true) {
      return {
        policy: name,
        condition: 'Source',
        message: `policy "${name}" does not allow GitHub deployment events (allowGitHubDeployments is false)`,
      };
    }
    if (type === 'github-deployment') {
      const rule = webhookUnverifiableRule(spec);
      if (rule)
        return {
          policy: name,
          condition: 'Source',
          message: `policy "${name}" has ${rule}, which a GitHub deployment event cannot satisfy (its ref and environment are whatever the deployment's creator wrote)`,
        };
    }
    if (!identity)
      return { policy: name, condition: 'Source', message: 'the request has no verified GitHub identity' };
    const subjects = spec.subjects ?? [];
    if (subjects.length === 0)
      return { policy: name, condition: 'Subject', message: `policy "${name}" has no subjects` };
    const mismatches = subjects.map((subject) => subjectMismatch(subject, identity));
    if (!mismatches.includes(undefined)) {
      return {
        policy: name,
        condition: 'Subject',
        message: `policy "${name}": no subject matches ${identity.repository} (${mismatches[0]})`,
      };
    }
  }
  const target = spec.targets.find(
    (t) => t.kind === input.spec.target.kind && matchPattern(t.name, input.spec.target.name),
  );
  if (!target) {
    return {
      policy: name,
      condition: 'Target',
      message: `policy "${name}" does not govern ${input.spec.target.kind} "${input.spec.target.name}"`,
    };
  }
  for (const { container } of input.spec.images) {
    if (!target.containers.includes('*') && !target.containers.includes(container)) {
      return {
        policy: name,
        condition: 'Container',
        message: `policy "${name}" does not allow setting the image of container "${container}"`,
      };
    }
  }
  for (const { container, image } of input.spec.images) {
    let reference;
    try {
      reference = parseImageReference(image);
    } catch (error) {
      const detail = error instanceof ImageReferenceError ? error.message : String(error);
      return { policy: name, condition: 'ImageReference', message: `container "${container}": ${detail}` };
    }
    if (!spec.images.repositories.some((allowed) => matchPattern(allowed, reference.repository))) {
      return {
        policy: name,
        condition: 'ImageRepository',
        message: `policy "${name}" does not allow images from ${reference.repository}`,
      };
    }
    if (spec.images.requireDigest === true && !reference.digest) {
      return {
        policy: name,
        condition: 'ImageDigest',
        message: `policy "${name}" requires images pinned by digest (${image} has none)`,
      };
    }
  }
  const verified = type === 'kubernetes' ? undefined : identity;
  const environment = input.spec.environment ?? verified?.environment;
  if (verified) {
    // A verified identity binds the environment: a job proves it passed an environment's protection
    // rules only through its token's `environment` claim, never through the body it sends.
    if (verified.environment !== undefined && environment !== verified.environment)
      return {
        policy: name,
        condition: 'Environment',
        message: `the request names environment ${JSON.stringify(environment)}, but its token was issued to a job in ${JSON.stringify(verified.environment)}`,
      };
    if (verified.environment === undefined && spec.environments !== undefined)
      return {
        policy: name,
        condition: 'Environment',
        message: `policy "${name}" restricts environments, and the token carries no environment claim (the job did not run in a GitHub environment; the request's environment alone does not count)`,
      };
  }
  if (
    spec.environments !== undefined &&
    (environment === undefined || !spec.environments.includes(environment))
  ) {
    return {
      policy: name,
      condition: 'Environment',
      message: `policy "${name}" allows environments ${spec.environments.map((e) => JSON.stringify(e)).join(', ') || '(none)'}, not ${JSON.stringify(environment ?? null)}`,
    };
  }
  return undefined;
}

/** Decide. Never throws for bad input: malformed requests are simply not admitted. */
export function evaluatePolicies(input: PolicyInput): PolicyDecision {
  const policies = [...input.policies].sort((a, b) =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  if (policies.length === 0)
    return {
      allowed: false,
      reasons: [{ condition: 'NoPolicy', message: 'no DeployPolicy in this namespace (default deny)' }],
      subjectPolicies: [],
    };
  const reasons: PolicyDenial[] = [];
  for (const policy of policies) {
    let denial: PolicyDenial | undefined;
    try {
      denial = checkPolicy(policy, input);
    } catch (error) {
      denial = {
        policy: policy.metadata.name,
        condition: 'Source',
        message: `policy "${policy.metadata.name}" could not be evaluated: ${String(error)}`,
      };
    }
    if (!denial) return { allowed: true, policy };
    reasons.push(denial);
  }
  const identity = input.source.identity;
  const subjectPolicies = identity
    ? policies
        .filter((policy) =>
          (policy.spec?.subjects ?? []).some((subject) => {
            try {
              return subjectMismatch(subject, identity) === undefined;
            } catch {
              return false;
            }
          }),
        )
        .map((policy) => policy.metadata.name ?? '')
    : [];
  return { allowed: false, reasons, subjectPolicies };
}

/** One line that says why a request was denied (the most specific reasons first). */
export function describeDenial(reasons: PolicyDenial[]): string {
  return reasons.map((reason) => reason.message).join('; ');
}
