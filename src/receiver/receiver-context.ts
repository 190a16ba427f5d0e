/** Everything the receiver's handlers share, built once by `createReceiverApp`. */
import type { Counter } from 'prom-client';
import type { DeployPolicy } from '../api/types.js';
import type { AttestationSigningKey } from '../attestation/attestation-keys.js';
import type { KubeClient } from '../kube/kube-client.js';
import type { TokenVerifier } from '../oidc/token-verifier.js';
import type { Logger } from '../observability/logger.js';
import type { ImageReferenceParser } from './dispatch-body.js';
import type { PolicyEvaluator } from './policy-port.js';
import type { BodyReadGate } from './body-read-gate.js';
import type { RateLimiter } from './rate-limiter.js';

export interface ReceiverContext {
  verifier: TokenVerifier;
  kube: KubeClient;
  attestationKey: AttestationSigningKey;
  evaluatePolicies: PolicyEvaluator;
  parseImageReference: ImageReferenceParser;
  /** The namespace's policies read from the API server now. */
  listPolicies(namespace: string): Promise<DeployPolicy[]>;
  /** The namespace's policies from the cache; undefined when there is none or it is not filled yet. */
  cachedPolicies(namespace: string): DeployPolicy[] | undefined;
  clock(): Date;
  logger: Logger;
  rateLimiter: RateLimiter;
  maxBodyBytes: number;
  /** Largest GitHub webhook body. */
  webhookMaxBodyBytes: number;
  /** Longest time a body may take to arrive. */
  bodyTimeoutMs: number;
  /** Shared bound on bodies read before their sender is authenticated. */
  unauthenticatedReads: BodyReadGate;
  maxWaitSeconds: number;
  pollIntervalMs: number;
  publicUrl?: string;
  /** Namespaces requests may target; empty for all. */
  namespaces: readonly string[];
  /** Aborted when the server shuts down: long polls answer at once. */
  shutdown: AbortSignal;
  dispatches: Counter<string>;
}
