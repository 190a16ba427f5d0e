import { createMetrics } from '../../src/observability/metrics.js';

test('get-or-create metrics per registry, rendered as Prometheus text', async () => {
  const m1 = createMetrics();
  const m2 = createMetrics({ prefix: 'x_' });
  const c = m1.counter('things_total', 'Things', ['kind']);
  expect(m1.counter('things_total', 'Things', ['kind'])).toBe(c);
  c.inc({ kind: 'a' });
  m1.histogram('latency_seconds', 'Latency').observe(0.2);
  m2.gauge('up', 'Up').set(1);
  const text = await m1.render();
  expect(text).toContain('keyless_things_total{kind="a"} 1');
  expect(text).toContain('keyless_latency_seconds_count 1');
  expect(text).not.toContain('x_up');
  expect(await m2.render()).toContain('x_up 1');
  expect(() => m1.gauge('things_total', 'clash')).toThrow(/another kind/);
  expect(m1.contentType).toMatch(/text\/plain/);
});
