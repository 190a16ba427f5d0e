/** The id every answer and log line of one request carries. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** What a caller may choose as its id: short, and safe to echo in a header and a log line. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The caller's `X-Request-Id` when it is safe to echo and log, else a new random one. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}
