/** The yardstick: plain `jose` `jwtVerify` RS256 throughput, in this process, on this machine. */
import { jwtVerify, type CryptoKey } from 'jose';

/** Verifications per second of `tokens` (round robin) with `concurrency` verifications in flight. */
export async function measureJwtVerify(
  tokens: readonly string[],
  key: CryptoKey,
  concurrency: number,
  durationMs: number,
): Promise<{ verifications: number; seconds: number; perSecond: number }> {
  let count = 0;
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await jwtVerify(tokens[count % tokens.length]!, key, { algorithms: ['RS256'] });
        count++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { verifications: count, seconds, perSecond: count / seconds };
}
