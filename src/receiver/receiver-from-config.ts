/**
 * From a loaded `ReceiverConfig` to running dependencies: the token verifier (issuers, audience,
 * owners, static JWKS) and the attestation key. The CLI calls this, then `startReceiver`.
 */
import { parseAttestationPrivateKey } from '../attestation/attestation-keys.js';
import type { KubeClient } from '../kube/kube-client.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { createTokenVerifier } from '../oidc/token-verifier.js';
import { ConfigError } from '../settings/config-error.js';
import { RECEIVER_SETTINGS, type ReceiverConfig } from './receiver-config.js';
import { createPolicyCache } from './policy-cache.js';
import type { ReceiverDeps } from './receiver-app.js';

export interface ReceiverEnvironment {
  kube: KubeClient;
  logger: Logger;
  evaluatePolicies: ReceiverDeps['evaluatePolicies'];
  parseImageReference: ReceiverDeps['parseImageReference'];
  metrics?: Metrics;
  fetch?: typeof fetch;
  clock?: () => Date;
}

/** Build the receiver's dependencies; throws ConfigError when a configured key cannot be used. */
export async function receiverDepsFromConfig(
  config: ReceiverConfig,
  environment: ReceiverEnvironment,
): Promise<Omit<ReceiverDeps, 'shutdown' | 'isReady'>> {
  const { logger } = environment;
  const metrics = environment.metrics ?? createMetrics({ collectDefaults: true });
  if (config.allowInsecureIssuer) {
    // Loud on purpose: an http issuer's keys can be swapped by anyone on the network path.
    logger.warn(
      { issuers: config.issuers.filter((i) => i.startsWith('http:')) },
      'INSECURE: http OIDC issuers are allowed (KEYLESS_ALLOW_INSECURE_ISSUER). Use this for local playgrounds only.',
    );
  }
  const attestationKey = await parseAttestationPrivateKey(config.attestationKeyPem).catch((error: Error) => {
    const s = RECEIVER_SETTINGS.attestationKeyFile;
    throw new ConfigError(`--${s.flag} / ${s.env}`, error.message);
  });
  const verifier = await createTokenVerifier({
    issuers: config.issuers,
    audience: config.audience,
    allowedOwners: config.allowedOwners,
    allowInsecureIssuer: config.allowInsecureIssuer,
    staticJwks: config.staticJwks,
    clockToleranceSeconds: config.clockToleranceSeconds,
    refreshCooldownMs: config.keyRefreshCooldownSeconds * 1000,
    fetch: environment.fetch,
    clock: environment.clock,
    logger: logger.child({ component: 'oidc' }),
    metrics,
  }).catch((error: Error) => {
    const s = RECEIVER_SETTINGS.jwksFile;
    throw new ConfigError(`--${s.flag} / ${s.env}`, error.message);
  });
  // Best effort: warm the key cache so the first dispatch does not pay for discovery.
  await verifier.warmUp();
  logger.info(
    { issuers: config.issuers, audience: config.audience, attestationKeyId: attestationKey.keyId },
    'receiver configured',
  );
  return {
    verifier,
    kube: environment.kube,
    attestationKey,
    evaluatePolicies: environment.evaluatePolicies,
    parseImageReference: environment.parseImageReference,
    clock: environment.clock,
    logger,
    metrics,
    rateLimit: { perMinute: config.rateLimitPerMinute, burst: config.rateLimitBurst },
    maxBodyBytes: config.maxBodyBytes,
    webhookMaxBodyBytes: config.webhookMaxBodyBytes,
    maxConcurrentBodyReads: config.maxConcurrentBodyReads,
    bodyTimeoutMs: config.bodyTimeoutSeconds * 1000,
    maxWaitSeconds: config.maxWaitSeconds,
    publicUrl: config.publicUrl,
    namespaces: config.namespaces,
    policyCache: createPolicyCache({
      kube: environment.kube,
      namespaces: config.namespaces,
      logger: logger.child({ component: 'policy-cache' }),
    }),
  };
}
