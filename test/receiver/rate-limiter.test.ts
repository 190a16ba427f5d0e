import { createRateLimiter } from '../../src/receiver/index.js';

test('token bucket: burst, refill, Retry-After, independent keys, disabled at 0', () => {
  let now = 0;
  const limiter = createRateLimiter({ perMinute: 6, burst: 2 }, () => now);
  expect(limiter.take('a')).toEqual({ allowed: true });
  expect(limiter.take('a')).toEqual({ allowed: true });
  expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 10 });
  expect(limiter.take('b')).toEqual({ allowed: true });
  now += 5_000;
  expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 5 });
  now += 5_000;
  expect(limiter.take('a')).toEqual({ allowed: true });
  now += 3_600_000; // a long pause refills only up to the burst
  expect([limiter.take('a'), limiter.take('a'), limiter.take('a')].map((d) => d.allowed)).toEqual([
    true,
    true,
    false,
  ]);
  const off = createRateLimiter({ perMinute: 0, burst: 1 });
  expect([1, 2, 3].map(() => off.take('x').allowed)).toEqual([true, true, true]);
});

test('memory stays bounded under many keys', () => {
  let now = 0;
  const limiter = createRateLimiter({ perMinute: 1, burst: 1, maxKeys: 100 }, () => now);
  for (let i = 0; i < 1000; i += 1) expect(limiter.take(`k${i}`).allowed).toBe(true);
  now += 1;
  // Recent keys are still limited (their bucket is remembered) ...
  expect(limiter.take('k999').allowed).toBe(false);
});
