/** Bearer-token authentication of receiver requests with the OIDC verifier. */
import type { IncomingMessage } from 'node:http';
import type { TokenVerifier, VerifiedToken } from '../oidc/token-verifier.js';
import { TokenRejectedError } from '../oidc/token-rejected-error.js';
import { HttpError, httpErrorOf, unauthorized, type ErrorAnswer } from './http-error.js';

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * What can be decided from the `Authorization` header without a signature check: the 401 answer
 * (no header, not Bearer, or a token the verifier's precheck refuses), or the token left to verify.
 * Returns values and throws nothing: it runs for every junk request.
 */
export function precheckAuthorization(
  header: string | undefined,
  verifier: TokenVerifier,
): ErrorAnswer | { token: string } {
  if (header === undefined || header === '')
    return unauthorized('an Authorization: Bearer token is required', false);
  const match = BEARER.exec(header);
  if (!match) return unauthorized('the Authorization header must be "Bearer <token>"', true);
  const token = match[1]!;
  const rejection = verifier.precheck(token);
  return rejection ? unauthorized(`${rejection.code}: ${rejection.message}`, true) : { token };
}

/**
 * The answer for an error `verifier.verify` threw: 401 for a refused token, 503 with `Retry-After`
 * when the issuer's keys are unavailable; undefined for anything else (a bug, not a refusal).
 */
export function answerForVerifyError(error: unknown): ErrorAnswer | undefined {
  if (!(error instanceof TokenRejectedError)) return undefined;
  if (error.code === 'issuer_unavailable') {
    return new HttpError(503, 'unavailable', error.message, undefined, { 'Retry-After': '30' });
  }
  return unauthorized(`${error.code}: ${error.message}`, true);
}

/** Extract and verify the Bearer token of a request; throws HttpError 401 (or 503 when keys are unavailable). */
export async function authenticate(req: IncomingMessage, verifier: TokenVerifier): Promise<VerifiedToken> {
  const checked = precheckAuthorization(req.headers.authorization, verifier);
  if (!('token' in checked)) throw httpErrorOf(checked);
  try {
    return await verifier.verify(checked.token);
  } catch (error) {
    const answer = answerForVerifyError(error);
    throw answer ? httpErrorOf(answer) : error;
  }
}
