/**
 * Reading a JSON request body by hand instead of `express.json()`: the receiver needs an exact size
 * limit that stops reading early, a strict content type, and refusal of keys that could reach an
 * object's prototype (`__proto__`, `constructor`, `prototype`) anywhere in the document.
 */
import type { Request } from 'express';
import { HttpError } from './http-error.js';

/** Keys refused anywhere in a body: they have no meaning here and a history of prototype pollution. */
export const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Deepest nesting accepted. */
export const MAX_DEPTH = 32;

/** Read and parse the body of `req` as JSON; throws HttpError 408/413/415/400. */
export async function readJsonBody(req: Request, maxBytes: number, timeoutMs?: number): Promise<unknown> {
  return parseJsonText(await readBodyText(req, maxBytes, timeoutMs));
}

/**
 * Read the body of `req` as UTF-8 text, exactly as sent (signatures are over these bytes), after
 * checking the content type and size; throws HttpError 408/413/415/400. With `timeoutMs`, a body
 * not complete within it is cut (408, connection closed): a slow sender holds nothing for long.
 */
export async function readBodyText(req: Request, maxBytes: number, timeoutMs?: number): Promise<string> {
  const contentType = req.headers['content-type'] ?? '';
  const [mediaType, ...params] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (mediaType !== 'application/json') {
    throw new HttpError(415, 'unsupported_media_type', 'Content-Type must be application/json');
  }
  const charset = params.find((p) => p.startsWith('charset='));
  if (charset && charset.replace(/^charset=/, '').replace(/"/g, '') !== 'utf-8') {
    throw new HttpError(415, 'unsupported_media_type', 'only the utf-8 charset is accepted');
  }
  if (req.headers['content-encoding'] && req.headers['content-encoding'] !== 'identity') {
    throw new HttpError(415, 'unsupported_media_type', 'compressed bodies are not accepted');
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new HttpError(413, 'payload_too_large', `request body is larger than ${maxBytes} bytes`);
  }
  const chunks = await readChunks(req, maxBytes, timeoutMs);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new HttpError(400, 'invalid_request', 'request body is not valid UTF-8');
  }
  if (text.trim() === '') throw new HttpError(400, 'invalid_request', 'request body is empty');
  return text;
}

const CLOSE = { Connection: 'close' };

/** The body's chunks, at most `maxBytes`, within `timeoutMs`; a client abort is a 400, not a crash. */
async function readChunks(req: Request, maxBytes: number, timeoutMs: number | undefined): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let size = 0;
  let timedOut = false;
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          // Ends the iteration below with an error; the answer (408) goes out, then the socket closes.
          req.unpipe();
          req.emit('error', new Error('body timeout'));
        }, timeoutMs);
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        throw new HttpError(
          413,
          'payload_too_large',
          `request body is larger than ${maxBytes} bytes`,
          undefined,
          CLOSE,
        );
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    if (timedOut) throw bodyTimedOut(timeoutMs);
    // The client went away mid-body (ECONNRESET, "aborted"): its problem, not ours.
    throw new HttpError(
      400,
      'invalid_request',
      'the client closed the connection before the body was complete',
      undefined,
      CLOSE,
    );
  } finally {
    if (timer) clearTimeout(timer);
  }
  if (timedOut) throw bodyTimedOut(timeoutMs);
  return chunks;
}

/** 408 for a body that did not arrive within the timeout; the connection is closed. */
function bodyTimedOut(timeoutMs: number | undefined): HttpError {
  return new HttpError(
    408,
    'invalid_request',
    `the request body was not complete within ${timeoutMs} ms`,
    undefined,
    CLOSE,
  );
}

/** Parse JSON text, refusing prototype keys and deep nesting; throws HttpError 400. */
export function parseJsonText(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(
      400,
      'invalid_request',
      `request body is not valid JSON: ${(error as Error).message}`,
    );
  }
  checkKeys(value, '', 0);
  return value;
}

/** Refuse forbidden keys and excessive nesting anywhere in a parsed document. */
export function checkKeys(value: unknown, path: string, depth: number): void {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    // JSON.parse turns 1e400 into Infinity, which no JSON (nor the attestation) can hold.
    const field = path || '(body)';
    throw new HttpError(400, 'invalid_request', `${field}: number out of range`, [
      { field, message: 'number out of range (not a finite double)' },
    ]);
  }
  if (typeof value !== 'object' || value === null) return;
  if (depth > MAX_DEPTH) {
    throw new HttpError(400, 'invalid_request', `request body is nested deeper than ${MAX_DEPTH} levels`);
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkKeys(item, `${path}[${index}]`, depth + 1));
    return;
  }
  // Own keys, including an own `__proto__` that JSON.parse creates as a plain property.
  for (const key of Object.keys(value)) {
    const field = path ? `${path}.${key}` : key;
    if (FORBIDDEN_KEYS.has(key)) {
      throw new HttpError(400, 'invalid_request', `key '${key}' is not allowed`, [
        { field, message: `key '${key}' is not allowed` },
      ]);
    }
    checkKeys((value as Record<string, unknown>)[key], field, depth + 1);
  }
}
