/**
 * Child process: the bench's local OIDC issuer (discovery and JWKS over HTTP), in its own process
 * so the discovery and key fetches a receiver makes (Flux's per request) cost neither the load
 * generator nor the receivers. The parent mints tokens over IPC in batches before measuring and
 * takes the issuer down (`available: false`, every fetch answered 503) for the outage run.
 */
import { startLocalOidcIssuer, type MintOptions } from '../src/playground/oidc-issuer.js';
import { serveRequests } from './serve-requests.js';

/** One token to mint: claim overrides (GitHub claims, `iss` included) and mint options. */
export interface MintSpec {
  claims?: Record<string, string>;
  options: MintOptions;
}

const audience = process.argv[2] ?? 'keyless-deploy-bench';
const issuer = await startLocalOidcIssuer({ defaultAudience: audience });
serveRequests(
  { url: issuer.issuer },
  {
    /** Mint each spec (answers the tokens in order). */
    async mint(payload) {
      const tokens: string[] = [];
      for (const spec of payload as MintSpec[]) tokens.push(await issuer.mint(spec.claims, spec.options));
      return tokens;
    },
    jwks: () => issuer.jwks,
    /** Discovery and JWKS requests served so far. */
    requestCount: () => issuer.requestCount(),
    setAvailable(payload) {
      issuer.setAvailable(payload as boolean);
      return issuer.requestCount();
    },
  },
  () => issuer.close(),
);
