/** Starts a receiver on 127.0.0.1:0 with a local OIDC issuer, for tests over real HTTP. */
import { Writable } from 'node:stream';
import type { DeployPolicy } from '../../../src/api/types.js';
import {
  generateAttestationKeyPair,
  parseAttestationPrivateKey,
  parseAttestationPublicKeys,
} from '../../../src/attestation/index.js';
import type { AttestationPublicKey } from '../../../src/attestation/index.js';
import type { KubeClient } from '../../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../../src/kube/resource-types.js';
import { createLogger } from '../../../src/observability/logger.js';
import { createMetrics, type Metrics } from '../../../src/observability/metrics.js';
import { createTokenVerifier, type TokenVerifier } from '../../../src/oidc/index.js';
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../../src/playground/oidc-issuer.js';
import {
  startReceiver,
  type ReceiverDeps,
  type ReceiverServerConfig,
  type RunningReceiver,
} from '../../../src/receiver/index.js';
import { evaluatePolicies, parseImageReference } from '../../../src/policy/index.js';

export const AUDIENCE = 'keyless-deploy-test';

export interface Harness {
  issuer: LocalOidcIssuer;
  receiver: RunningReceiver;
  verifier: TokenVerifier;
  metrics: Metrics;
  publicKeys: AttestationPublicKey[];
  logLines: string[];
  token(overrides?: Record<string, string | undefined>): Promise<string>;
  dispatch(
    body: unknown,
    token?: string,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }>;
  close(): Promise<void>;
}

/** A policy letting acme/web (repository id 2000002, the issuer's default) deploy Deployment web. */
export function webPolicy(namespace = 'shop', overrides: Partial<DeployPolicy['spec']> = {}): DeployPolicy {
  return {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployPolicy',
    metadata: { name: 'web', namespace },
    spec: {
      targets: [{ kind: 'Deployment', name: 'web', containers: ['web', 'sidecar'] }],
      subjects: [{ repositoryId: '2000002' }],
      images: { repositories: ['ghcr.io/acme/web', 'ghcr.io/acme/sidecar'] },
      ...overrides,
    },
  };
}

export async function seedPolicy(kube: KubeClient, policy: DeployPolicy = webPolicy()): Promise<void> {
  await kube.create(RESOURCE_TYPES.deployPolicies, policy as never);
}

export async function startHarness(
  kube: KubeClient,
  extra: Partial<ReceiverDeps> = {},
  server: Partial<ReceiverServerConfig> = {},
): Promise<Harness> {
  const issuer = await startLocalOidcIssuer();
  const metrics = createMetrics();
  const verifier = await createTokenVerifier({
    issuers: [issuer.issuer],
    audience: AUDIENCE,
    allowInsecureIssuer: true,
    metrics,
  });
  const pair = await generateAttestationKeyPair();
  const logLines: string[] = [];
  const destination = new Writable({
    write: (chunk, _encoding, callback) => {
      logLines.push(String(chunk));
      callback();
    },
  });
  const receiver = await startReceiver(
    { listen: { host: '127.0.0.1', port: 0 }, shutdownTimeoutSeconds: 2, ...server },
    {
      verifier,
      kube,
      attestationKey: await parseAttestationPrivateKey(pair.privateKeyPem),
      evaluatePolicies,
      parseImageReference,
      logger: createLogger({ destination, level: 'debug', name: 'receiver' }),
      metrics,
      pollIntervalMs: 50,
      ...extra,
    },
  );
  const token = (overrides: Record<string, string | undefined> = {}) =>
    issuer.mint(overrides, { audience: AUDIENCE });
  return {
    issuer,
    receiver,
    verifier,
    metrics,
    publicKeys: await parseAttestationPublicKeys(pair.publicKeyPem),
    logLines,
    token,
    async dispatch(body, bearer, headers = {}) {
      const response = await fetch(`${receiver.url}/v1/dispatch`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(bearer !== undefined ? { authorization: `Bearer ${bearer}` } : {}),
          ...headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return {
        status: response.status,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
        headers: response.headers,
      };
    },
    async close() {
      await receiver.close();
      await issuer.close();
    },
  };
}

export const DIGEST = `sha256:${'a'.repeat(64)}`;
export const goodBody = (overrides: Record<string, unknown> = {}) => ({
  namespace: 'shop',
  target: 'Deployment/web',
  image: `ghcr.io/acme/web@${DIGEST}`,
  ...overrides,
});
