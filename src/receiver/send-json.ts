/** JSON answers written on the bare Node response. */
import type { ServerResponse } from 'node:http';

/**
 * Write `body` as a JSON answer with `status`. Used on express's responses too (they are Node
 * responses): one serialisation and one write, without express's `res.json`/`res.send` machinery.
 */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}
