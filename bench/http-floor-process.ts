/**
 * Child process: a bare `node:http` server that reads the body and answers 401 with a small JSON
 * body, the ceiling any Node HTTP service reaches with the bench's load generator on this machine.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveRequests } from './serve-requests.js';

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res
      .writeHead(401, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      .end('{"error":"unauthorized","message":"malformed: token is not a compact JWS"}');
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
serveRequests({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }, {}, async () => {
  server.closeAllConnections();
  server.close();
});
