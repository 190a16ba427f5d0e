/** Why a token was refused. Each code maps to one HTTP answer and one metric label. */
export type TokenRejectionCode =
  | 'malformed'
  | 'unknown_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_signature'
  | 'unknown_key'
  | 'missing_claim'
  | 'invalid_claim'
  | 'owner_not_allowed'
  | 'issuer_unavailable';

/**
 * A refusal as a plain value, as `TokenVerifier.precheck` returns it: junk tokens are refused
 * without building an Error (and its stack trace) per request.
 */
export interface TokenRejection {
  readonly code: TokenRejectionCode;
  /** Safe to return to the caller (see `TokenRejectedError`). */
  readonly message: string;
}

/** A refusal value. */
export function tokenRejection(code: TokenRejectionCode, message: string): TokenRejection {
  return { code, message };
}

/**
 * A token the verifier refused. `message` is safe to return to the caller: it names the failed
 * check and never contains the token itself.
 */
export class TokenRejectedError extends Error implements TokenRejection {
  constructor(
    readonly code: TokenRejectionCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRejectedError';
  }
}
