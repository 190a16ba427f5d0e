/**
 * Verification of GitHub Actions OIDC tokens.
 *
 * Order matters: everything that can be decided from the unverified header and payload (shape,
 * algorithm, issuer, audience, time, required claims, owner) is checked first, so junk costs no RSA
 * work; then node:crypto checks the RS256 signature over the signing input with a key from our own
 * cache (one synchronous call: a third of what `jose`'s WebCrypto path costs per token here), and
 * the time is checked again. The payload returned is the decoded signed segment, so nothing
 * unverified is returned.
 * Header parameters that point at keys (`jku`, `x5u`, `jwk`, `x5c`) are never used: keys come only
 * from the configured issuer's discovery document or the static JWKS.
 */
import { verify as verifySignature, type KeyObject } from 'node:crypto';
import type { JSONWebKeySet, JWTPayload } from 'jose';
import type { GitHubIdentity } from '../api/types.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { githubClaimsProblem, identityFromClaims } from './github-claims.js';
import { IssuerKeys } from './issuer-keys.js';
import { TokenRejectedError, tokenRejection, type TokenRejection } from './token-rejected-error.js';

/** GitHub.com's Actions OIDC issuer. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/** Longest token accepted; GitHub's are about 1.5 KiB. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export interface TokenVerifierOptions {
  /** Exact issuer URLs accepted (github.com, GHEC `.../<enterprise>`, GHES `https://HOST/_services/token`). */
  issuers: string[];
  /** Exact audience the token must carry. Required: there is no "any audience". */
  audience: string;
  /** Owner logins (case-insensitive) or numeric owner ids allowed at all; empty or absent: any owner. */
  allowedOwners?: string[];
  /** Accept `http:` issuers. Local playground only. */
  allowInsecureIssuer?: boolean;
  /** Use these keys for every issuer instead of discovery (air-gapped clusters). */
  staticJwks?: JSONWebKeySet;
  fetch?: typeof fetch;
  clock?: () => Date;
  /** Tolerance on exp/nbf/iat, seconds. Default 60. */
  clockToleranceSeconds?: number;
  /** Least time between two key refreshes of one issuer. Default 60 000 ms. */
  refreshCooldownMs?: number;
  /** Refresh cached keys older than this on next use. Default 1 hour. */
  keyMaxAgeMs?: number;
  /** Timeout of discovery/JWKS requests. Default 5 000 ms. */
  fetchTimeoutMs?: number;
  logger?: Logger;
  /** Where to count RSA verifications and their latency. */
  metrics?: Metrics;
}

/** A token whose signature and claims verified. */
export interface VerifiedToken {
  /** The verified payload, as GitHub sent it. */
  claims: JWTPayload & Record<string, unknown>;
  identity: GitHubIdentity;
}

export interface TokenVerifier {
  /** Verify a compact JWT; throws `TokenRejectedError` for every refusal. */
  verify(token: string): Promise<VerifiedToken>;
  /**
   * Everything but the signature (shape, algorithm, issuer, audience, time, claims, owner): the
   * refusal `verify` would give, or the token with only its signature left to check.
   * Synchronous and throws nothing: the receiver answers junk with it before any other work.
   */
  precheck(token: string): TokenRejection | PrecheckedToken;
  /**
   * The rest of `verify` for a prechecked token: the signature (keys fetched if needed) and the
   * time again. Refusals are resolved as values (`isTokenRejection`), not thrown.
   */
  checkSignature(checked: PrecheckedToken): Promise<VerifiedToken | TokenRejection>;
  /** How many RSA signature verifications were attempted (cheap rejections do none). */
  rsaVerifications(): number;
  /** Fetch the keys of every discovered issuer now (start-up warm-up); failures are logged, not thrown. */
  warmUp(): Promise<void>;
}

/** Validate an issuer URL against the https rule; throws a plain Error naming it. */
export function checkIssuerUrl(issuer: string, allowInsecure: boolean): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new Error(`issuer '${issuer}' is not a URL`);
  }
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && allowInsecure) return;
  throw new Error(`issuer '${issuer}' must use https`);
}

/** Make a verifier. Throws when the options are unusable (no audience, no issuer, http issuer). */
export async function createTokenVerifier(options: TokenVerifierOptions): Promise<TokenVerifier> {
  if (!options.audience) throw new Error('an audience is required');
  if (options.issuers.length === 0) throw new Error('at least one issuer is required');
  const allowInsecure = options.allowInsecureIssuer ?? false;
  for (const issuer of options.issuers) checkIssuerUrl(issuer, allowInsecure);
  const clock = options.clock ?? (() => new Date());
  const tolerance = options.clockToleranceSeconds ?? 60;
  const allowedOwners = new Set((options.allowedOwners ?? []).map((o) => o.toLowerCase()));
  const rsaCounter = options.metrics?.counter(
    'oidc_rsa_verifications_total',
    'RSA signature verifications attempted on OIDC tokens',
  );
  const rsaLatency = options.metrics?.histogram(
    'oidc_verification_seconds',
    'Time spent verifying an OIDC token signature (key lookup included)',
    ['outcome'],
  );
  let rsaCount = 0;

  const keysByIssuer = new Map<string, IssuerKeys>();
  for (const issuer of options.issuers) {
    const keys = new IssuerKeys({
      issuer,
      staticJwks: options.staticJwks,
      allowInsecure,
      fetch: options.fetch ?? globalThis.fetch,
      now: () => clock().getTime(),
      refreshCooldownMs: options.refreshCooldownMs ?? 60_000,
      maxAgeMs: options.keyMaxAgeMs ?? 3_600_000,
      fetchTimeoutMs: options.fetchTimeoutMs ?? 5_000,
      logger: options.logger,
    });
    await keys.init();
    keysByIssuer.set(issuer, keys);
  }

  /**
   * Everything decidable without a signature check: the refusal, or the issuer's key cache, the
   * kid and the unverified payload. Refusals are values, not thrown: this runs for every junk token.
   */
  function precheck(token: string): TokenRejection | PrecheckedToken {
    if (typeof token !== 'string' || token.length === 0) return tokenRejection('malformed', 'no token');
    if (token.length > MAX_TOKEN_LENGTH) return tokenRejection('malformed', 'token is too long');
    if (!COMPACT_JWS.test(token)) {
      return tokenRejection('malformed', 'token is not a compact JWS (three base64url parts)');
    }
    const firstDot = token.indexOf('.');
    const header = decodeJsonSegment(token.slice(0, firstDot));
    const payload = decodeJsonSegment(token.slice(firstDot + 1, token.indexOf('.', firstDot + 1))) as
      JWTPayload | undefined;
    if (header === undefined || payload === undefined) {
      return tokenRejection('malformed', 'token header or payload is not valid base64url JSON');
    }
    if (header.alg !== 'RS256') {
      return tokenRejection(
        'malformed',
        `token algorithm '${String(header.alg)}' is not allowed (RS256 only)`,
      );
    }
    if (header.crit !== undefined)
      return tokenRejection('malformed', 'token uses critical header parameters');
    if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 256) {
      return tokenRejection('malformed', 'token header has no usable kid');
    }
    const issuer = payload.iss;
    const keys = typeof issuer === 'string' ? keysByIssuer.get(issuer) : undefined;
    if (!keys)
      return tokenRejection('unknown_issuer', `issuer '${String(issuer).slice(0, 200)}' is not accepted`);
    const aud = payload.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(options.audience)) {
      return tokenRejection('wrong_audience', `token audience is not '${options.audience}'`);
    }
    const early = timeProblem(payload, Math.floor(clock().getTime() / 1000), tolerance);
    if (early) return early;
    const claimsProblem = githubClaimsProblem(payload);
    if (claimsProblem) return claimsProblem;
    if (allowedOwners.size > 0) {
      const owner = String(payload.repository_owner).toLowerCase();
      const ownerId = String(payload.repository_owner_id);
      if (!allowedOwners.has(owner) && !allowedOwners.has(ownerId)) {
        return tokenRejection('owner_not_allowed', `repository owner '${owner}' is not allowed`);
      }
    }
    return { token, keys, kid: header.kid, payload };
  }

  async function checkSignature(checked: PrecheckedToken): Promise<VerifiedToken | TokenRejection> {
    const { token, keys, kid, payload } = checked;
    let key: KeyObject;
    try {
      key = await keys.getKey(kid);
    } catch (error) {
      if (error instanceof TokenRejectedError) return error;
      throw error;
    }
    rsaCount += 1;
    rsaCounter?.inc();
    const stop = rsaLatency?.startTimer();
    // RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over the signing input, with the issuer's key from
    // our cache: one synchronous node:crypto call. The payload checked above is the decoded
    // signed segment itself, so once this holds it is the verified payload.
    const signed = token.lastIndexOf('.');
    const signature = Buffer.from(token.slice(signed + 1), 'base64url');
    const valid =
      signature.length === Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8) &&
      verifySignature('sha256', Buffer.from(token.slice(0, signed)), key, signature);
    stop?.({ outcome: valid ? 'verified' : 'rejected' });
    if (!valid) return tokenRejection('bad_signature', 'token signature does not verify');
    // Time again: fetching keys may have taken seconds since the precheck.
    const late = timeProblem(payload, Math.floor(clock().getTime() / 1000), tolerance);
    if (late) return late;
    return { claims: payload as VerifiedToken['claims'], identity: identityFromClaims(payload) };
  }

  async function verify(token: string): Promise<VerifiedToken> {
    const checked = precheck(token);
    if (isTokenRejection(checked)) throw new TokenRejectedError(checked.code, checked.message);
    const verified = await checkSignature(checked);
    if (isTokenRejection(verified)) throw new TokenRejectedError(verified.code, verified.message);
    return verified;
  }

  return {
    verify,
    precheck,
    checkSignature,
    rsaVerifications: () => rsaCount,
    async warmUp() {
      if (options.staticJwks) return;
      await Promise.all(
        [...keysByIssuer.entries()].map(([issuer, keys]) =>
          keys
            .refresh()
            .catch((error: Error) =>
              options.logger?.warn({ issuer, err: error.message }, 'issuer keys not loaded at start-up'),
            ),
        ),
      );
    },
  };
}

/** Three base64url parts, the signature possibly empty (refused later as a bad signature). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Expired, or not valid yet, at `now` (seconds) with `tolerance` seconds either way. */
function timeProblem(payload: JWTPayload, now: number, tolerance: number): TokenRejection | undefined {
  if (typeof payload.exp === 'number' && payload.exp <= now - tolerance) {
    return tokenRejection('expired', 'token has expired');
  }
  if (typeof payload.nbf === 'number' && payload.nbf > now + tolerance) {
    return tokenRejection('not_yet_valid', 'token is not valid yet (nbf)');
  }
  if (typeof payload.iat === 'number' && payload.iat > now + tolerance) {
    return tokenRejection('not_yet_valid', 'token was issued in the future (iat)');
  }
  return undefined;
}

/** A token `precheck` passed, for `checkSignature` (made by `precheck` only). */
export interface PrecheckedToken {
  readonly token: string;
  /** The issuer's key cache. */
  readonly keys: IssuerKeys;
  readonly kid: string;
  /** Decoded from the token's signed segment; not trusted until the signature is checked. */
  readonly payload: JWTPayload;
}

/** Whether a precheck or signature result is a refusal. */
export function isTokenRejection(value: object): value is TokenRejection {
  return 'code' in value;
}

/**
 * A base64url segment decoded as a JSON object, or undefined. A JSON object starts with `{`: other
 * text is refused before `JSON.parse`, whose SyntaxError (with its stack) is the costly part of
 * refusing garbage.
 */
function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  const text = Buffer.from(segment, 'base64url').toString('utf8');
  if (text.charCodeAt(0) !== 0x7b) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
