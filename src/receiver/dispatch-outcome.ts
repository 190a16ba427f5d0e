/** The outcome label of `receiver_dispatches_total` for refused dispatches. */
import type { ErrorAnswer } from './http-error.js';

/** The `receiver_dispatches_total` outcome label of an error answer. */
export function dispatchOutcome(error: ErrorAnswer): string {
  switch (error.status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    case 409:
      return error.code === 'token_reused' ? 'token_reused' : 'conflict';
    default:
      return error.status >= 500 ? 'error' : 'invalid_request';
  }
}
