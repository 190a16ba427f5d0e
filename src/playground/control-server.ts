/**
 * The playground's loopback control endpoint: `keyless-deploy token` (another process) asks it to
 * mint a token from the playground's OIDC issuer. It answers only requests that carry the random
 * secret the playground wrote to its state dir (mode 0600), so only whoever can read that dir can
 * mint. The issuer's key itself never leaves the playground process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

/** Serve `POST /mint` with JSON `{claims}`; `mint` signs. */
export async function startControlServer(
  secret: string,
  mint: (claims: Record<string, string>) => Promise<string>,
): Promise<ControlServer> {
  const expected = Buffer.from(`Bearer ${secret}`);
  const server: Server = createServer((request, response) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    const authorised = given.length === expected.length && timingSafeEqual(given, expected);
    if (request.method !== 'POST' || request.url !== '/mint' || !authorised) {
      response
        .writeHead(authorised ? 404 : 401, { 'content-type': 'application/json' })
        .end('{"error":"refused"}');
      return;
    }
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > 65536) request.destroy();
    });
    request.on('end', () => {
      void (async () => {
        try {
          const parsed = JSON.parse(body) as { claims?: Record<string, unknown> };
          const claims: Record<string, string> = {};
          for (const [name, value] of Object.entries(parsed.claims ?? {})) {
            if (typeof value !== 'string') throw new Error(`claim ${name} must be a string`);
            claims[name] = value;
          }
          const token = await mint(claims);
          response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
        } catch (error) {
          response
            .writeHead(400, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: (error as Error).message }));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
