/**
 * Replay of attested DeployRequests (issue 13, finding 2). An attestation binds namespace, name and
 * spec, so a saved request re-created after deletion verifies again. Two rules stop it:
 *
 * - Freshness: the attestation's `iat` (the receiver's clock, signed) must be at most
 *   `maxAgeSeconds` before the request's `metadata.creationTimestamp` (the API server's clock,
 *   set at create, never writable by users), and not more than {@link FUTURE_TOLERANCE_SECONDS}
 *   after it. Both times are fixed when the request is created, so however long it then waits
 *   (queue, approval, deploy window) it never expires, and nothing needs recording to decide it
 *   again later. A request re-created later than the window is refused.
 * - One use per attested name: before an attested request may deploy, the controller claims its
 *   `namespace/name` with a Lease in the controller's own namespace (create-if-absent; the API
 *   server's name uniqueness decides a race). A claim held by another uid means the request was
 *   deleted and re-created: refused. Claims are kept for {@link DEFAULT_CLAIM_RETENTION_MS}
 *   (far longer than the freshness window, after which a re-created request fails freshness anyway)
 *   and then collected.
 */
import { createHash } from 'node:crypto';
import type { DeployRequest } from '../api/types.js';
import { isKubeError, type KubeClient, type KubeObject } from '../kube/kube-client.js';
import { toMicroTime } from '../kube/leader-election.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import type { Logger } from '../observability/logger.js';

/** Default freshness window: the receiver signs and creates within a second or two. */
export const DEFAULT_ATTESTATION_MAX_AGE_SECONDS = 300;
/** An attestation may be dated this far after the request's creation (receiver vs API server clocks). */
export const FUTURE_TOLERANCE_SECONDS = 60;
/** How long claims are kept; must exceed the freshness window plus the future tolerance. */
export const DEFAULT_CLAIM_RETENTION_MS = 3600_000;
/** Label on claim Leases (value: `attested-name`), to list them for collection. */
export const CLAIM_LABEL = 'keyless.dev/claim';

type Request = DeployRequest & KubeObject;

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; acquireTime?: string };
}

/**
 * Why the attestation issued at `iat` (seconds) is not fresh for `request`, or undefined when it
 * is. Pure: both times come from the request and its signed attestation.
 */
export function staleAttestation(request: Request, iat: number, maxAgeSeconds: number): string | undefined {
  const created = Date.parse(request.metadata.creationTimestamp ?? '');
  if (!Number.isFinite(created) || !Number.isFinite(iat))
    return 'its creation time or the attestation time is missing';
  // creationTimestamp has whole seconds, as has iat: compare in seconds.
  const ageSeconds = Math.floor(created / 1000) - Math.floor(iat);
  const issued = new Date(Math.floor(iat) * 1000).toISOString();
  if (ageSeconds > maxAgeSeconds)
    return `the attestation was issued at ${issued}, ${ageSeconds}s before the request was created at ${request.metadata.creationTimestamp} (at most ${maxAgeSeconds}s allowed): a saved request created again later does not deploy; dispatch again for a new one`;
  if (-ageSeconds > FUTURE_TOLERANCE_SECONDS)
    return `the attestation was issued at ${issued}, ${-ageSeconds}s after the request was created at ${request.metadata.creationTimestamp} (at most ${FUTURE_TOLERANCE_SECONDS}s allowed)`;
  return undefined;
}

/** Name of the claim Lease of `namespace/name` (a hash: Lease names are bounded, request names vary). */
export function claimName(namespace: string, name: string): string {
  return `keyless-claim-${createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 40)}`;
}

/** Claims attested request names in one namespace, once per name for ever (see the file comment). */
export class AttestedNameClaims {
  /** uids this process has seen hold their claim (saves a read per reconcile). */
  private readonly held = new Set<string>();

  constructor(
    private readonly kube: KubeClient,
    /** Namespace of the claim Leases: the controller's own, where users have no write access. */
    private readonly namespace: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Claim `request`'s name for its uid. Returns undefined when the claim is (now) this request's,
   * or a sentence naming the earlier request when the name was used by another uid.
   */
  async claim(request: Request): Promise<string | undefined> {
    const uid = request.metadata.uid ?? '';
    if (this.held.has(uid)) return undefined;
    const where = `${request.metadata.namespace}/${request.metadata.name}`;
    const name = claimName(request.metadata.namespace ?? '', request.metadata.name ?? '');
    let lease = await this.kube.get<Lease>(RESOURCE_TYPES.leases, this.namespace, name);
    if (!lease) {
      try {
        lease = await this.kube.create<Lease>(RESOURCE_TYPES.leases, {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: {
            name,
            namespace: this.namespace,
            labels: { [CLAIM_LABEL]: 'attested-name' },
            annotations: { 'keyless.dev/deploy-request': where },
          },
          spec: { holderIdentity: uid, acquireTime: toMicroTime(this.now()) },
        });
      } catch (error) {
        if (!isKubeError(error, 409)) throw error;
        lease = await this.kube.get<Lease>(RESOURCE_TYPES.leases, this.namespace, name);
      }
    }
    const holder = lease?.spec?.holderIdentity;
    if (holder === uid) {
      this.held.add(uid);
      return undefined;
    }
    return `the attested name ${where} was already used by another DeployRequest (uid ${holder ?? 'unknown'}, claimed at ${lease?.spec?.acquireTime ?? 'an unknown time'}); a request deleted and created again does not deploy; dispatch again for a new one`;
  }
}

/** Delete claim Leases older than `retentionMs`; returns how many. */
export async function collectClaims(
  kube: KubeClient,
  namespace: string,
  retentionMs: number,
  now: Date,
  logger?: Logger,
): Promise<number> {
  const { items } = await kube.list<Lease>(RESOURCE_TYPES.leases, namespace, { labelSelector: CLAIM_LABEL });
  let deleted = 0;
  for (const lease of items) {
    const created = Date.parse(lease.spec?.acquireTime ?? lease.metadata.creationTimestamp ?? '');
    if (!Number.isFinite(created) || now.getTime() - created <= retentionMs) continue;
    await kube.delete(RESOURCE_TYPES.leases, namespace, lease.metadata.name ?? '');
    deleted++;
    logger?.debug({ claim: lease.metadata.name }, 'deleted expired attested-name claim');
  }
  return deleted;
}
