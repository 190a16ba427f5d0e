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
 * A token the verifier refused. `message` is safe to return to the caller: it names the failed
 * check and never contains the token itself.
 */
export class TokenRejectedError extends Error {
  constructor(
    readonly code: TokenRejectionCode,
    message: string,
  ) {
    super(message);
    this.name = 'TokenRejectedError';
  }
}
