/** Bearer-token authentication of receiver requests with the OIDC verifier. */
import type { IncomingMessage } from 'node:http';
import {
  isTokenRejection,
  type PrecheckedToken,
  type TokenVerifier,
  type VerifiedToken,
} from '../oidc/token-verifier.js';
import type { TokenRejection } from '../oidc/token-rejected-error.js';
import { HttpError, httpErrorOf, unauthorized, type ErrorAnswer } from './http-error.js';

const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i;

/**
 * What can be decided from the `Authorization` header without a signature check: the 401 answer
 * (no header, not Bearer, or a token the verifier's precheck refuses), or the prechecked token.
 * Returns values and throws nothing: it runs for every junk request.
 */
export function precheckAuthorization(
  header: string | undefined,
  verifier: TokenVerifier,
): ErrorAnswer | PrecheckedToken {
  if (header === undefined || header === '')
    return unauthorized('an Authorization: Bearer token is required', false);
  const match = BEARER.exec(header);
  if (!match) return unauthorized('the Authorization header must be "Bearer <token>"', true);
  const checked = verifier.precheck(match[1]!);
  return isTokenRejection(checked) ? answerForRejection(checked) : checked;
}

/** Whether `precheckAuthorization` answered (refused) rather than passing a token on. */
export function isErrorAnswer(value: ErrorAnswer | PrecheckedToken): value is ErrorAnswer {
  return 'status' in value;
}

/** The answer to a refused token: 401, or 503 with `Retry-After` when the issuer's keys are unavailable. */
export function answerForRejection(rejection: TokenRejection): ErrorAnswer {
  if (rejection.code === 'issuer_unavailable') {
    return new HttpError(503, 'unavailable', rejection.message, undefined, { 'Retry-After': '30' });
  }
  return unauthorized(`${rejection.code}: ${rejection.message}`, true);
}

/** Extract and verify the Bearer token of a request; throws HttpError 401 (or 503 when keys are unavailable). */
export async function authenticate(req: IncomingMessage, verifier: TokenVerifier): Promise<VerifiedToken> {
  const checked = precheckAuthorization(req.headers.authorization, verifier);
  if (isErrorAnswer(checked)) throw httpErrorOf(checked);
  const verified = await verifier.checkSignature(checked);
  if (isTokenRejection(verified)) throw httpErrorOf(answerForRejection(verified));
  return verified;
}
