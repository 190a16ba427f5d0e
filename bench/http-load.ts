/**
 * Closed-loop HTTP load: `concurrency` clients on keep-alive connections, each sending its next
 * request as soon as the previous answer is read, until the requests run out or time is up.
 */
import { Agent, request } from 'node:http';

/** One request to send. */
export interface LoadRequest {
  method: 'POST' | 'GET';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** What a load run measured. */
export interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  /** Milliseconds from sending each request to reading its whole answer. */
  latencies: number[];
}

/** Run `next()` requests against `baseUrl` with `concurrency` clients; `next` returns undefined when done. */
export async function runHttpLoad(options: {
  baseUrl: string;
  concurrency: number;
  next: () => LoadRequest | undefined;
  /** Stop starting requests after this long. */
  durationMs?: number;
}): Promise<LoadResult> {
  const url = new URL(options.baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let count = 0;
  const started = performance.now();
  const deadline = options.durationMs === undefined ? Infinity : started + options.durationMs;

  const send = (spec: LoadRequest): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          method: spec.method,
          path: spec.path,
          headers: {
            ...spec.headers,
            ...(spec.body !== undefined ? { 'content-length': String(Buffer.byteLength(spec.body)) } : {}),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(spec.body);
    });

  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      for (;;) {
        if (performance.now() >= deadline) return;
        const spec = options.next();
        if (!spec) return;
        const sent = performance.now();
        const status = await send(spec);
        latencies.push(performance.now() - sent);
        statuses[status] = (statuses[status] ?? 0) + 1;
        count++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { requests: count, seconds, perSecond: count / seconds, statuses, latencies };
}
