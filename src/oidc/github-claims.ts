/**
 * GitHub Actions OIDC claims: which are required, which must be strings, and how they map to the
 * `GitHubIdentity` stored in a DeployRequest.
 */
import type { JWTPayload } from 'jose';
import type { GitHubIdentity } from '../api/types.js';
import { TokenRejectedError, tokenRejection, type TokenRejection } from './token-rejected-error.js';

/** Claims every accepted token carries; GitHub always sets them. */
export const REQUIRED_CLAIMS = [
  'iss',
  'aud',
  'exp',
  'iat',
  'jti',
  'sub',
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'ref',
  'sha',
  'run_id',
] as const;

/** GitHub claim name -> GitHubIdentity field, for the string claims the identity keeps. */
const IDENTITY_FIELDS: ReadonlyArray<readonly [string, keyof GitHubIdentity]> = [
  ['sub', 'subject'],
  ['repository', 'repository'],
  ['repository_id', 'repositoryId'],
  ['repository_owner', 'repositoryOwner'],
  ['repository_owner_id', 'repositoryOwnerId'],
  ['repository_visibility', 'repositoryVisibility'],
  ['ref', 'ref'],
  ['ref_type', 'refType'],
  ['sha', 'sha'],
  ['workflow', 'workflow'],
  ['workflow_ref', 'workflowRef'],
  ['job_workflow_ref', 'jobWorkflowRef'],
  ['environment', 'environment'],
  ['event_name', 'eventName'],
  ['run_id', 'runId'],
  ['run_attempt', 'runAttempt'],
  ['run_number', 'runNumber'],
  ['actor', 'actor'],
  ['actor_id', 'actorId'],
  ['runner_environment', 'runnerEnvironment'],
  ['jti', 'tokenId'],
];

/** Claims that are numbers (NumericDate) in every JWT; every other claim GitHub sends is a string. */
const NUMERIC_CLAIMS = new Set(['exp', 'iat', 'nbf']);

/** Claims whose value is a GitHub numeric id, sent as a decimal string. */
const ID_CLAIMS = ['repository_id', 'repository_owner_id', 'run_id', 'actor_id', 'run_number', 'run_attempt'];

/** Longest claim value accepted; GitHub's longest (job_workflow_ref) stays far below. */
export const MAX_CLAIM_LENGTH = 1024;

/**
 * Check required claims and claim types on a decoded payload; throws `TokenRejectedError`.
 * Cheap: runs before any signature work, and again (on the verified payload) after it.
 */
export function checkGitHubClaims(payload: JWTPayload): void {
  const problem = githubClaimsProblem(payload);
  if (problem) throw new TokenRejectedError(problem.code, problem.message);
}

/** What `checkGitHubClaims` would refuse, as a value; undefined when the claims are fine. */
export function githubClaimsProblem(payload: JWTPayload): TokenRejection | undefined {
  for (const name of REQUIRED_CLAIMS) {
    if (payload[name] === undefined || payload[name] === null || payload[name] === '') {
      return tokenRejection('missing_claim', `required claim '${name}' is missing`);
    }
  }
  for (const [name, value] of Object.entries(payload)) {
    if (NUMERIC_CLAIMS.has(name)) {
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        return tokenRejection('invalid_claim', `claim '${name}' must be a number`);
      }
      continue;
    }
    if (name === 'aud') {
      const ok =
        typeof value === 'string' ||
        (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string'));
      if (!ok) return tokenRejection('invalid_claim', `claim 'aud' must be a string`);
      continue;
    }
    // GitHub sends every other claim as a JSON string; anything else is not a GitHub token.
    if (typeof value !== 'string') {
      return tokenRejection('invalid_claim', `claim '${name}' must be a string`);
    }
    if (value.length > MAX_CLAIM_LENGTH) {
      return tokenRejection('invalid_claim', `claim '${name}' is longer than ${MAX_CLAIM_LENGTH} characters`);
    }
  }
  for (const name of ID_CLAIMS) {
    const value = payload[name];
    if (typeof value === 'string' && !/^[0-9]{1,20}$/.test(value)) {
      return tokenRejection('invalid_claim', `claim '${name}' must be a decimal id`);
    }
  }
  const repository = payload.repository as string;
  if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) {
    return tokenRejection('invalid_claim', `claim 'repository' must be OWNER/NAME`);
  }
  if (repository.split('/')[0]!.toLowerCase() !== (payload.repository_owner as string).toLowerCase()) {
    return tokenRejection('invalid_claim', `claims 'repository' and 'repository_owner' disagree`);
  }
  return undefined;
}

/** Map checked claims to the identity a DeployRequest records. Call only after `checkGitHubClaims`. */
export function identityFromClaims(payload: JWTPayload): GitHubIdentity {
  const identity: Record<string, string> = { issuer: payload.iss as string };
  for (const [claim, field] of IDENTITY_FIELDS) {
    const value = payload[claim];
    // GitHub sends some optional claims as "" (head_ref, base_ref); an empty value says nothing.
    if (typeof value === 'string' && value !== '') identity[field] = value;
  }
  return identity as unknown as GitHubIdentity;
}
