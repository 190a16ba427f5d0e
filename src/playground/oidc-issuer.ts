/**
 * A local OIDC issuer that signs GitHub Actions-shaped tokens, for the playground and tests.
 *
 * It serves `/.well-known/openid-configuration` and `/.well-known/jwks` on loopback, over plain HTTP
 * (so the receiver must run with the insecure-issuer switch) or over HTTPS with a given certificate
 * (the container test), and mints RS256 tokens with every claim GitHub sets, string-typed as GitHub
 * sends them, a `kid` header and `typ: JWT`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';

/** GitHub Actions claims (all strings). Overrides replace defaults; `undefined` removes a claim. */
export type GitHubClaims = Record<string, string | undefined>;

/**
 * Claims of a plausible GitHub Actions job (push to main of `acme/web`, workflow release.yml).
 * `jti` is fresh on every call so that two minted tokens are two distinct tokens.
 */
export function defaultGitHubClaims(overrides: GitHubClaims = {}): Record<string, string> {
  const repository = overrides.repository ?? 'acme/web';
  const owner = overrides.repository_owner ?? repository.split('/')[0] ?? 'acme';
  const ref = overrides.ref ?? 'refs/heads/main';
  const sha = overrides.sha ?? 'a501fa6b06a6dc25cca7cace0b989abe6b156366';
  const workflowRef = `${repository}/.github/workflows/release.yml@${ref}`;
  const claims: Record<string, string | undefined> = {
    jti: randomUUID(),
    sub: `repo:${repository}:ref:${ref}`,
    ref,
    sha,
    repository,
    repository_owner: owner,
    repository_owner_id: '1000001',
    run_id: '9000000001',
    run_number: '42',
    run_attempt: '1',
    repository_visibility: 'private',
    repository_id: '2000002',
    actor_id: '3000003',
    actor: 'octocat',
    workflow: 'Release',
    head_ref: '',
    base_ref: '',
    event_name: 'push',
    ref_type: 'branch',
    ref_protected: 'true',
    workflow_ref: workflowRef,
    workflow_sha: sha,
    job_workflow_ref: workflowRef,
    job_workflow_sha: sha,
    runner_environment: 'github-hosted',
    ...overrides,
  };
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(claims)) if (value !== undefined) result[name] = value;
  return result;
}

export interface MintOptions {
  audience: string;
  /** Lifetime; GitHub's tokens live 5 minutes (the default here too). Negative mints expired tokens. */
  expiresInSeconds?: number;
  /** Header `kid`; the issuer's key id by default (a different one makes an unknown-key token). */
  kid?: string;
  /** Issue time; now by default. */
  issuedAt?: Date;
}

export interface LocalOidcIssuer {
  /** Issuer URL (`iss` of minted tokens), e.g. `http://127.0.0.1:40123`. */
  readonly issuer: string;
  /** Key id of the signing key. */
  readonly kid: string;
  /** The public JWKS served at `/.well-known/jwks`. */
  readonly jwks: JSONWebKeySet;
  /** Sign a GitHub-shaped token: `defaultGitHubClaims(overrides)` plus iss/aud/iat/nbf/exp. */
  mint(overrides?: GitHubClaims, options?: MintOptions): Promise<string>;
  /**
   * Sign an arbitrary payload and header with the issuer's key, for hostile-input tests (claims of
   * the wrong type, missing claims). `alg` is always RS256; `kid` defaults to the issuer's.
   */
  signRaw(payload: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
  /** Discovery/JWKS requests served so far (tests check caching with it). */
  requestCount(): number;
  /** Stop answering (simulates an outage) or answer again. */
  setAvailable(available: boolean): void;
  close(): Promise<void>;
}

export interface LocalOidcIssuerOptions {
  host?: string;
  port?: number;
  /**
   * Serve HTTPS with this key and certificate (PEM), so a receiver can trust the issuer the way it
   * trusts GitHub's, without the insecure-issuer switch. Plain HTTP without it.
   */
  tls?: { key: string; cert: string };
  /**
   * Host named in the issuer URL when clients reach the issuer under another address than the one
   * it listens on (a container reaching the host's loopback); `host` by default.
   */
  publicHost?: string;
  /** Audience used when `mint` is called without options. */
  defaultAudience?: string;
}

/** Start the issuer on loopback (port 0 by default). */
export async function startLocalOidcIssuer(options: LocalOidcIssuerOptions = {}): Promise<LocalOidcIssuer> {
  const host = options.host ?? '127.0.0.1';
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  const kid = randomUUID().toUpperCase();
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const jwks: JSONWebKeySet = { keys: [publicJwk] };
  let issuer = '';
  let requests = 0;
  let available = true;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    requests += 1;
    if (!available) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"unavailable"}');
      return;
    }
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (req.method === 'GET' && path === '/.well-known/openid-configuration') {
      sendJson(res, {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks`,
        subject_types_supported: ['public', 'pairwise'],
        response_types_supported: ['id_token'],
        claims_supported: [
          'sub',
          'aud',
          'exp',
          'iat',
          'iss',
          'jti',
          'nbf',
          'ref',
          'repository',
          'repository_id',
        ],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid'],
      });
    } else if (req.method === 'GET' && path === '/.well-known/jwks') {
      sendJson(res, jwks);
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    }
  };
  const server: Server = options.tls ? createTlsServer(options.tls, handle) : createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const named = options.publicHost ?? host;
  issuer = `${options.tls ? 'https' : 'http'}://${named.includes(':') ? `[${named}]` : named}:${address.port}`;

  return {
    issuer,
    kid,
    jwks,
    mint: (overrides = {}, mintOptions) =>
      mintToken(privateKey, issuer, kid, overrides, {
        audience: mintOptions?.audience ?? options.defaultAudience ?? 'keyless-deploy',
        ...mintOptions,
      }),
    signRaw: (payload, header = {}) =>
      new SignJWT(payload).setProtectedHeader({ typ: 'JWT', kid, ...header, alg: 'RS256' }).sign(privateKey),
    requestCount: () => requests,
    setAvailable: (value) => {
      available = value;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function sendJson(res: ServerResponse, body: unknown): void {
  res
    .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' })
    .end(JSON.stringify(body));
}

async function mintToken(
  key: CryptoKey,
  issuer: string,
  kid: string,
  overrides: GitHubClaims,
  options: MintOptions,
): Promise<string> {
  const iat = Math.floor((options.issuedAt ?? new Date()).getTime() / 1000);
  const lifetime = options.expiresInSeconds ?? 300;
  // Same order and timing shape as GitHub: nbf ten minutes before iat, exp after it.
  // `iss` and `aud` may be overridden too (tests mint wrong-issuer tokens with a trusted key).
  return new SignJWT({ iss: issuer, aud: options.audience, ...defaultGitHubClaims(overrides) })
    .setProtectedHeader({ typ: 'JWT', alg: 'RS256', kid: options.kid ?? kid })
    .setNotBefore(iat - 600)
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetime)
    .sign(key);
}
