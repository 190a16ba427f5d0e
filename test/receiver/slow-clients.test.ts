/** Slow-loris bounds: a client that never finishes its headers is cut off, and creates nothing. */
import { connect } from 'node:net';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { createMemoryKube } from './support/memory-kube.js';
import { seedPolicy, startHarness, type Harness } from './support/harness.js';

let h: Harness;
afterEach(() => h.close());

test('headers not finished within the headers timeout: 408 and the connection closed', async () => {
  const kube = createMemoryKube();
  await seedPolicy(kube);
  h = await startHarness(kube, {}, { headersTimeoutMs: 300 });
  const { hostname, port } = new URL(h.receiver.url);
  const socket = connect(Number(port), hostname);
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
  const started = Date.now();
  socket.write('POST /v1/dispatch HTTP/1.1\r\nHost: receiver\r\nContent-Type: application/json\r\n');
  // ...and never the blank line that ends the headers.
  await new Promise<void>((resolve) => socket.on('close', () => resolve()));
  expect(answer).toMatch(/^HTTP\/1\.1 408/);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(kube.all(RESOURCE_TYPES.deployRequests)).toEqual([]);
});
