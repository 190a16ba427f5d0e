/**
 * Errors the receiver answers with, and how they are written: JSON `{error, message, details?,
 * requestId}` with the matching status, plus `WWW-Authenticate` on 401 and `Retry-After` on 429/503.
 */
import type { ServerResponse } from 'node:http';
import { sendJson } from './send-json.js';

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

/** An answer other than success, as a value (what `HttpError` carries; no stack trace to build). */
export interface ErrorAnswer {
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
  readonly details?: unknown;
  readonly headers: Record<string, string>;
}

/** An answer other than success. Throw it from a handler; the error middleware writes it. */
export class HttpError extends Error implements ErrorAnswer {
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
export function unauthorized(message: string, tokenPresent: boolean): ErrorAnswer {
  // RFC 6750 section 3.1: no error code when the request had no credentials at all.
  const challenge = tokenPresent
    ? `Bearer realm="keyless-deploy", error="invalid_token", error_description=${quoteParam(message)}`
    : 'Bearer realm="keyless-deploy"';
  return { status: 401, code: 'invalid_token', message, headers: { 'WWW-Authenticate': challenge } };
}

/** The answer as an error to throw. */
export function httpErrorOf(answer: ErrorAnswer): HttpError {
  return answer instanceof HttpError
    ? answer
    : new HttpError(answer.status, answer.code, answer.message, answer.details, answer.headers);
}

/**
 * Write an error answer: `{error, message, details?, requestId}` as JSON. On the bare Node response,
 * so the dispatch gate in front of express writes its refusals the same way express's handlers do.
 */
export function sendError(res: ServerResponse, error: ErrorAnswer, requestId: string): void {
  const body: Record<string, unknown> = { error: error.code, message: error.message };
  if (error.details !== undefined) body.details = error.details;
  body.requestId = requestId;
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  sendJson(res, error.status, body);
}
