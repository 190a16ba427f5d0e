/**
 * Ports for the control plane's components come from below the kernel's ephemeral range, where
 * outbound connections cannot take them before the component binds.
 */
import { createServer } from 'node:net';
import { FREE_PORT_RANGE, freePort } from '../../src/playground/control-plane/free-port.js';

test('every port is inside the range below the ephemeral ports and can be listened on', async () => {
  const [low, high] = FREE_PORT_RANGE;
  expect(high).toBeLessThan(32768);
  for (let i = 0; i < 20; i++) {
    const port = await freePort();
    expect(port).toBeGreaterThanOrEqual(low);
    expect(port).toBeLessThanOrEqual(high);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => server.close(resolve));
  }
});
