/** Peak resident set size of this process, sampled on a timer. */

/** A running RSS sampler. */
export interface PeakRssSampler {
  /** Highest RSS seen so far, bytes. */
  peak(): number;
  /** Forget the peak (start a new measurement from the current RSS). */
  reset(): void;
  stop(): void;
}

/** Sample `process.memoryUsage.rss()` every `intervalMs` (default 50 ms) and keep the maximum. */
export function samplePeakRss(intervalMs = 50): PeakRssSampler {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, intervalMs);
  timer.unref();
  return {
    peak: () => Math.max(peak, process.memoryUsage.rss()),
    reset: () => {
      peak = process.memoryUsage.rss();
    },
    stop: () => clearInterval(timer),
  };
}
