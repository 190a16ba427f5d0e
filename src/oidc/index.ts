/** GitHub Actions OIDC token verification. */
export {
  createTokenVerifier,
  checkIssuerUrl,
  GITHUB_ACTIONS_ISSUER,
  MAX_TOKEN_LENGTH,
  isTokenRejection,
} from './token-verifier.js';
export type {
  PrecheckedToken,
  TokenVerifier,
  TokenVerifierOptions,
  VerifiedToken,
} from './token-verifier.js';
export { TokenRejectedError, type TokenRejection, type TokenRejectionCode } from './token-rejected-error.js';
export { REQUIRED_CLAIMS, checkGitHubClaims, identityFromClaims } from './github-claims.js';
export { IssuerKeys, importKeySet } from './issuer-keys.js';
