/**
 * The signing keys of one OIDC issuer, cached. Keys come from the issuer's discovery document
 * (`/.well-known/openid-configuration` -> `jwks_uri`) or from a static JWKS (air-gapped clusters).
 *
 * - A known `kid` is answered from the cache without network traffic.
 * - An unknown `kid` triggers one refresh, at most once per cooldown, so a flood of tokens with
 *   made-up key ids cannot turn the receiver into a traffic amplifier against the issuer.
 * - When the issuer is unreachable the old keys stay in use (an outage must not stop deploys that
 *   GitHub signed with a key we already know).
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JSONWebKeySet, JWK } from 'jose';
import type { Logger } from '../observability/logger.js';
import { TokenRejectedError } from './token-rejected-error.js';

export interface IssuerKeysOptions {
  issuer: string;
  /** Fixed keys: never fetched, never refreshed. */
  staticJwks?: JSONWebKeySet;
  allowInsecure?: boolean;
  fetch: typeof fetch;
  /** Milliseconds clock (cooldown and cache age). */
  now: () => number;
  /** Least time between two refreshes. */
  refreshCooldownMs: number;
  /** Refresh keys older than this on next use (old keys stay if the refresh fails). */
  maxAgeMs: number;
  /** Network timeout of each discovery/JWKS request. */
  fetchTimeoutMs: number;
  logger?: Logger;
}

/** Largest discovery document or JWKS read; GitHub's are a few KiB. */
const MAX_DOCUMENT_BYTES = 512 * 1024;

/** The cached keys of one issuer. */
export class IssuerKeys {
  private keys = new Map<string, KeyObject>();
  private fetchedAt: number | undefined;
  private lastAttemptAt: number | undefined;
  private inflight: Promise<void> | undefined;

  constructor(private readonly options: IssuerKeysOptions) {}

  /** Load static keys; a no-op for discovered issuers (they load lazily). */
  async init(): Promise<void> {
    if (this.options.staticJwks) this.keys = importKeySet(this.options.staticJwks);
  }

  /** Number of cached keys (for readiness and tests). */
  get size(): number {
    return this.keys.size;
  }

  /** The key for `kid`, refreshing once (within the cooldown) when it is unknown or stale. */
  async getKey(kid: string): Promise<KeyObject> {
    const { now, refreshCooldownMs, maxAgeMs, staticJwks } = this.options;
    if (staticJwks) {
      const key = this.keys.get(kid);
      if (!key)
        throw new TokenRejectedError('unknown_key', `signing key '${kid}' is not in the configured JWKS`);
      return key;
    }
    const cached = this.keys.get(kid);
    const stale = this.fetchedAt === undefined || now() - this.fetchedAt > maxAgeMs;
    if (cached && !stale) return cached;
    const coolingDown = this.lastAttemptAt !== undefined && now() - this.lastAttemptAt < refreshCooldownMs;
    if (!coolingDown) {
      try {
        await this.refresh();
      } catch (error) {
        // Outage: keep serving known keys; without any key there is nothing to verify with.
        this.options.logger?.warn(
          { issuer: this.options.issuer, err: (error as Error).message },
          'issuer keys could not be refreshed; using cached keys',
        );
        if (this.keys.size === 0) {
          throw new TokenRejectedError(
            'issuer_unavailable',
            `keys of issuer ${this.options.issuer} are unavailable`,
          );
        }
      }
    }
    const key = this.keys.get(kid);
    if (key) return key;
    if (this.keys.size === 0 && this.fetchedAt === undefined) {
      throw new TokenRejectedError(
        'issuer_unavailable',
        `keys of issuer ${this.options.issuer} are unavailable`,
      );
    }
    throw new TokenRejectedError('unknown_key', `signing key '${kid}' is not published by the issuer`);
  }

  /** Fetch discovery and JWKS now; concurrent callers share one fetch. */
  refresh(): Promise<void> {
    this.inflight ??= this.doRefresh().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async doRefresh(): Promise<void> {
    const { issuer } = this.options;
    this.lastAttemptAt = this.options.now();
    const discovery = await this.fetchJson(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
    if (discovery.issuer !== issuer) {
      throw new Error(`discovery document names issuer ${String(discovery.issuer)}, expected ${issuer}`);
    }
    const jwksUri = discovery.jwks_uri;
    if (typeof jwksUri !== 'string') throw new Error('discovery document has no jwks_uri');
    // Keys must come from the issuer's own origin: a discovery document cannot send us elsewhere.
    if (new URL(jwksUri).origin !== new URL(issuer).origin) {
      throw new Error(`jwks_uri ${jwksUri} is not on the issuer's origin`);
    }
    const jwks = await this.fetchJson(jwksUri);
    const keys = importKeySet(jwks as unknown as JSONWebKeySet);
    if (keys.size === 0) throw new Error('issuer published no usable RS256 keys');
    this.keys = keys;
    this.fetchedAt = this.options.now();
    this.options.logger?.debug({ issuer, keys: [...keys.keys()] }, 'issuer keys refreshed');
  }

  private async fetchJson(url: string): Promise<Record<string, unknown>> {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && !(this.options.allowInsecure && parsed.protocol === 'http:')) {
      throw new Error(`refusing to fetch ${url}: not https`);
    }
    const response = await this.options.fetch(url, {
      signal: AbortSignal.timeout(this.options.fetchTimeoutMs),
      redirect: 'error',
      headers: { accept: 'application/json' },
    });
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
    const text = await response.text();
    if (text.length > MAX_DOCUMENT_BYTES) throw new Error(`GET ${url}: document too large`);
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`GET ${url}: not a JSON object`);
    }
    return value as Record<string, unknown>;
  }
}

/**
 * Import the RSA signature keys of a JWKS by `kid` as Node key objects (what `crypto.verify`
 * takes); other keys are skipped (RS256 only).
 */
export function importKeySet(jwks: JSONWebKeySet): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  if (!jwks || !Array.isArray(jwks.keys)) throw new Error('JWKS has no keys array');
  for (const jwk of jwks.keys as JWK[]) {
    if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string') continue;
    if (jwk.alg !== undefined && jwk.alg !== 'RS256') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.d !== undefined) continue; // a private key has no business in a JWKS
    try {
      // Only the public parts are taken; node:crypto refuses what is not an RSA public key.
      const key = createPublicKey({ key: { kty: 'RSA', n: String(jwk.n), e: String(jwk.e) }, format: 'jwk' });
      if (key.asymmetricKeyType !== 'rsa' || (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) continue;
      keys.set(jwk.kid, key);
    } catch {
      // One broken key must not hide the others.
    }
  }
  return keys;
}
