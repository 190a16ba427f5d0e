/**
 * What the receiver needs from the policy module, as function types, so the app takes them as
 * dependencies (tests and the CLI pass `src/policy`'s implementations).
 */
import type { DeployPolicy, DeployRequestSpec, GitHubIdentity, SourceType } from '../api/types.js';

/** One failed policy condition, as the policy module reports it. */
export interface PolicyDenialReason {
  policy?: string;
  condition: string;
  message: string;
}

/** Decision of the policy module. */
export type PolicyDecision =
  | { allowed: true; policy: DeployPolicy | string }
  | {
      allowed: false;
      reasons: PolicyDenialReason[];
      /** Policies with a subject matching the identity; absent or empty: the caller gets a generic 403. */
      subjectPolicies?: string[];
    };

/** `evaluatePolicies` of `src/policy`: could one of `policies` admit this spec from this source? */
export type PolicyEvaluator = (input: {
  spec: DeployRequestSpec;
  source: { type: SourceType; identity?: GitHubIdentity };
  policies: DeployPolicy[];
}) => PolicyDecision;
