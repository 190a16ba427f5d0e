/** Run the receiver's HTTP server, with graceful shutdown. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReceiverApp, type ReceiverDeps } from './receiver-app.js';

export interface ReceiverServerConfig {
  listen: { host: string; port: number };
  /** How long `close()` waits for in-flight requests before cutting connections. Default 10 s. */
  shutdownTimeoutSeconds?: number;
  /** Slow-loris bounds: all headers within (default 10 s), a whole request within (default 120 s). */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface RunningReceiver {
  /** Base URL, e.g. `http://127.0.0.1:43123`. */
  url: string;
  /** Stop accepting, end long polls, wait for in-flight requests (bounded), close. Idempotent. */
  close(): Promise<void>;
}

/** Start listening. Readiness turns false as soon as `close()` begins, so load balancers drain first. */
export async function startReceiver(
  config: ReceiverServerConfig,
  deps: Omit<ReceiverDeps, 'shutdown' | 'isReady'> & { isReady?: () => boolean },
): Promise<RunningReceiver> {
  const shutdown = new AbortController();
  let closing = false;
  const app = createReceiverApp({
    ...deps,
    shutdown: shutdown.signal,
    isReady: () => !closing && (deps.policyCache?.synced ?? true) && (deps.isReady ? deps.isReady() : true),
  });
  // Not awaited: the first list retries with backoff until it succeeds; until then readiness is
  // false and dispatches read policies from the API server.
  void deps.policyCache?.start();
  // Slow-loris bounds: headers within 10 s, a whole request within 2 minutes (long polls included),
  // checked every second (Node's default check runs only every 30 s).
  const headersTimeout = config.headersTimeoutMs ?? 10_000;
  const server: Server = createServer(
    {
      headersTimeout,
      requestTimeout: config.requestTimeoutMs ?? 120_000,
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
    },
    app,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  deps.logger?.info({ url }, 'receiver listening');

  let closed: Promise<void> | undefined;
  return {
    url,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        shutdown.abort();
        deps.policyCache?.stop();
        const timer = setTimeout(
          () => server.closeAllConnections(),
          (config.shutdownTimeoutSeconds ?? 10) * 1000,
        );
        // Keep-alive connections turn idle as their last answer goes out; close them as they do.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        server.close(() => {
          clearTimeout(timer);
          clearInterval(sweep);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}
