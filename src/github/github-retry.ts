/**
 * How long to wait before trying GitHub again after an error, following GitHub's rate-limit
 * documentation: `retry-after` (secondary limits, 429 and some 403s), `x-ratelimit-reset` when
 * `x-ratelimit-remaining` is 0 (primary limit), exponential backoff for 5xx and network errors.
 * Other 4xx answers will not change by retrying: they are permanent.
 */

export type RetryDecision =
  { retry: true; afterMs: number; reason: string } | { retry: false; reason: string };

interface ErrorLike {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined> };
}

const MAX_BACKOFF_MS = 5 * 60_000;

/** Decide for an error of attempt number `attempt` (1 for the first failure). */
export function retryDecision(error: unknown, attempt: number, now: number, baseMs = 1000): RetryDecision {
  const e = (error ?? {}) as ErrorLike;
  const headers = e.response?.headers ?? {};
  const status = e.status ?? 0;
  const backoff = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  const retryAfter = Number(headers['retry-after']);
  if ((status === 429 || status === 403) && Number.isFinite(retryAfter) && retryAfter >= 0)
    return {
      retry: true,
      afterMs: Math.max(retryAfter * 1000, 1000),
      reason: `rate limited (${status}, retry-after ${retryAfter}s)`,
    };
  if ((status === 429 || status === 403) && String(headers['x-ratelimit-remaining']) === '0') {
    const reset = Number(headers['x-ratelimit-reset']) * 1000;
    const afterMs = Number.isFinite(reset) ? Math.max(reset - now, 1000) : backoff;
    return {
      retry: true,
      afterMs: Math.min(afterMs, 60 * 60_000),
      reason: `rate limited (${status}) until the limit resets`,
    };
  }
  if (status === 429)
    return { retry: true, afterMs: Math.max(backoff, 60_000), reason: 'rate limited (429)' };
  if (status === 0 || status >= 500 || status === 408)
    return {
      retry: true,
      afterMs: backoff,
      reason: `GitHub unavailable (${status || (e.message ?? 'network error')})`,
    };
  // 401 once: the cached token may have been revoked; a fresh one is minted on the retry.
  if (status === 401 && attempt <= 1) return { retry: true, afterMs: backoff, reason: 'token refused (401)' };
  return { retry: false, reason: `GitHub answered ${status}: ${e.message ?? ''}`.trim() };
}
