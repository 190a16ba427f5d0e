/**
 * Errors the receiver answers with, and how they are written: JSON `{error, message, details?,
 * requestId}` with the matching status, plus `WWW-Authenticate` on 401 and `Retry-After` on 429/503.
 */
import type { Response } from 'express';

/** A field-level problem in a request body. */
export interface FieldIssue {
  /** JSON path of the field, e.g. `images[0].image`. */
  field: string;
  message: string;
}

/** Machine-readable error codes of the receiver's API. */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'token_reused'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

/** An answer other than success. Throw it from a handler; the error middleware writes it. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Quote a value for an RFC 7235 auth-param (no quotes or backslashes, printable ASCII only). */
function quoteParam(value: string): string {
  return `"${value.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, "'")}"`;
}

/** 401: the token is missing, malformed or refused. */
export function unauthorized(message: string, tokenPresent: boolean): HttpError {
  // RFC 6750 section 3.1: no error code when the request had no credentials at all.
  const challenge = tokenPresent
    ? `Bearer realm="keyless-deploy", error="invalid_token", error_description=${quoteParam(message)}`
    : 'Bearer realm="keyless-deploy"';
  return new HttpError(401, 'invalid_token', message, undefined, { 'WWW-Authenticate': challenge });
}

/** Write an error answer. */
export function sendError(res: Response, error: HttpError, requestId: string): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  const body: Record<string, unknown> = { error: error.code, message: error.message };
  if (error.details !== undefined) body.details = error.details;
  body.requestId = requestId;
  res.status(error.status).json(body);
}
