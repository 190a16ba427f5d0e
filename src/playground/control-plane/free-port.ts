/**
 * A loopback port for a process that will listen on it a little later.
 *
 * Ports come from below Linux's default ephemeral range (32768-60999), never from the kernel's
 * own `listen(0)` choice: those are ephemeral ports, and between choosing one and the process
 * binding it, an outbound connection (kube-apiserver to etcd opens many) may take it as its local
 * port, so the process fails with "address already in use". A run of the container test lost its
 * kube-scheduler that way.
 */
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';

/** Lowest and highest port handed out. */
export const FREE_PORT_RANGE = [20000, 32767] as const;

/** A port on 127.0.0.1 nothing listens on now, outside the ephemeral range. */
export async function freePort(): Promise<number> {
  const [low, high] = FREE_PORT_RANGE;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = randomInt(low, high + 1);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 between ${low} and ${high} after 100 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
