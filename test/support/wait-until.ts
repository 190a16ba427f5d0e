/**
 * Waiting on a condition, never on time: `waitUntil` polls `check` until it returns a value other
 * than undefined/false (and returns it), or fails after `timeoutMs` with what it waited for and the
 * last value seen. The poll interval only bounds how soon the condition is noticed.
 */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  options: { timeoutMs?: number; intervalMs?: number; describe?: () => unknown } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const detail = options.describe ? `; last seen: ${JSON.stringify(options.describe())}` : '';
      const cause = lastError ? `; last error: ${String(lastError)}` : '';
      throw new Error(
        `timed out after ${options.timeoutMs ?? 15_000} ms waiting until ${what}${detail}${cause}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}
