/** A closed-loop HTTP load generator: `concurrency` clients send until the work list is empty. */

export interface LoadResult {
  requests: number;
  seconds: number;
  perSecond: number;
  /** Answers by HTTP status. */
  statuses: Record<number, number>;
}

/** Send one request per item, `concurrency` at a time; measures the whole run. */
export async function closedLoop<T>(
  items: readonly T[],
  concurrency: number,
  send: (item: T) => Promise<number>,
): Promise<LoadResult> {
  const statuses: Record<number, number> = {};
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        const status = await send(item);
        statuses[status] = (statuses[status] ?? 0) + 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { requests: items.length, seconds, perSecond: items.length / seconds, statuses };
}
