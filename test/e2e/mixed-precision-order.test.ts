/**
 * Ordering a receiver request (spec.requestedAt, milliseconds) against a request applied by hand
 * (creationTimestamp, whole seconds): within one second their order is unknown, so neither is
 * superseded by the other; the hand-made one waits its turn and then deploys. (The playground
 * tour does exactly this: the manual request applied while a dispatch is rolling out.)
 */
import { startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.controller();
});
afterAll(() => h.close());

test('a manual request made in the same second as a running receiver request queues, then deploys', async () => {
  await h.scenario('e2e-precision', {}, { progressDeadlineSeconds: 1 });
  // Start early in a second, so both requests fall in it.
  while (Date.now() % 1000 > 200) await new Promise((resolve) => setTimeout(resolve, 10));
  const second = Math.floor(Date.now() / 1000) * 1000;
  await h.manual('e2e-precision', 'first', {
    images: [{ container: 'web', image: 'ghcr.io/acme/web:fail-1' }],
    requestedAt: new Date(second + 999).toISOString(),
  });
  await h.waitFor('e2e-precision', 'first', ['Deploying']);
  const later = await h.manual('e2e-precision', 'later', {
    images: [{ container: 'web', image: 'ghcr.io/acme/web:2.0.0' }],
  });
  // The case under test: the same whole second, the "earlier" request with the later milliseconds.
  expect(Date.parse(later.metadata.creationTimestamp ?? '')).toBe(second);

  const queued = await h.waitFor('e2e-precision', 'later', ['Queued', 'Superseded', 'Succeeded']);
  expect(`${queued.status?.phase}: ${queued.status?.message}`).toMatch(
    /^Queued: waiting for DeployRequest first/,
  );
  expect((await h.waitFor('e2e-precision', 'first', ['RolledBack', 'Failed'], 20_000)).status?.phase).toBe(
    'RolledBack',
  );
  expect(
    (await h.waitFor('e2e-precision', 'later', ['Succeeded', 'Superseded', 'Failed'])).status?.phase,
  ).toBe('Succeeded');
  expect(await h.images('e2e-precision')).toEqual(['ghcr.io/acme/web:2.0.0']);
});
