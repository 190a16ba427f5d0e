/** Bearer-token authentication of receiver requests with the OIDC verifier. */
import type { Request } from 'express';
import type { TokenVerifier, VerifiedToken } from '../oidc/token-verifier.js';
import { TokenRejectedError } from '../oidc/token-rejected-error.js';
import { HttpError, unauthorized } from './http-error.js';

/** Extract and verify the Bearer token of a request; throws HttpError 401 (or 503 when keys are unavailable). */
export async function authenticate(req: Request, verifier: TokenVerifier): Promise<VerifiedToken> {
  const header = req.headers.authorization;
  if (header === undefined || header === '')
    throw unauthorized('an Authorization: Bearer token is required', false);
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
  if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"', true);
  try {
    return await verifier.verify(match[1]!);
  } catch (error) {
    if (error instanceof TokenRejectedError) {
      if (error.code === 'issuer_unavailable') {
        throw new HttpError(503, 'unavailable', error.message, undefined, { 'Retry-After': '30' });
      }
      throw unauthorized(`${error.code}: ${error.message}`, true);
    }
    throw error;
  }
}
