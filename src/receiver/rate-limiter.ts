/**
 * Per-key token buckets (the key is the repository id): each repository may dispatch `burst`
 * requests at once and `perMinute` on average. In memory, per replica: with N replicas a repository
 * gets at most N times the rate, which is still a bound, and needs no shared store.
 */

export interface RateLimitSettings {
  /** Sustained rate, requests per minute per key. 0 disables the limit. */
  perMinute: number;
  /** Bucket size: requests allowed back to back. */
  burst: number;
  /** Most keys tracked; the fullest buckets are forgotten first (they carry no debt). */
  maxKeys?: number;
}

export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface RateLimiter {
  take(key: string): RateLimitDecision;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Make a limiter; `now` is a millisecond clock (injected for tests). */
export function createRateLimiter(settings: RateLimitSettings, now: () => number = Date.now): RateLimiter {
  const buckets = new Map<string, Bucket>();
  const ratePerMs = settings.perMinute / 60_000;
  const maxKeys = settings.maxKeys ?? 10_000;

  function refill(bucket: Bucket, at: number): void {
    bucket.tokens = Math.min(settings.burst, bucket.tokens + Math.max(0, at - bucket.updatedAt) * ratePerMs);
    bucket.updatedAt = at;
  }

  function prune(at: number): void {
    for (const [key, bucket] of buckets) {
      refill(bucket, at);
      if (bucket.tokens >= settings.burst) buckets.delete(key);
    }
    // Still too many: every key is in debt; drop the oldest to bound memory.
    for (const key of buckets.keys()) {
      if (buckets.size <= maxKeys) break;
      buckets.delete(key);
    }
  }

  return {
    take(key) {
      if (settings.perMinute <= 0) return { allowed: true };
      const at = now();
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= maxKeys) prune(at);
        bucket = { tokens: settings.burst, updatedAt: at };
        buckets.set(key, bucket);
      }
      refill(bucket, at);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true };
      }
      return {
        allowed: false,
        retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000)),
      };
    },
  };
}
