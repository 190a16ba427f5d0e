/** Peak resident set size (and V8 heap size) of this process, sampled on a timer. */

/** A running RSS sampler. */
export interface PeakRssSampler {
  /** Highest RSS seen so far, bytes. */
  peak(): number;
  /**
   * Highest V8 heap size (`heapTotal`: the pages V8 holds, live or not) seen so far, bytes: how
   * much of the RSS peak is the heap the garbage collector let grow, and how much is the rest.
   */
  peakHeap(): number;
  /** Forget the peaks (start a new measurement from the current figures). */
  reset(): void;
  stop(): void;
}

/** Sample `process.memoryUsage()` every `intervalMs` (default 50 ms) and keep the maxima. */
export function samplePeakRss(intervalMs = 50): PeakRssSampler {
  let peak = 0;
  let peakHeap = 0;
  const sample = (): void => {
    const memory = process.memoryUsage();
    peak = Math.max(peak, memory.rss);
    peakHeap = Math.max(peakHeap, memory.heapTotal);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    peak: () => (sample(), peak),
    peakHeap: () => (sample(), peakHeap),
    reset: () => {
      peak = 0;
      peakHeap = 0;
      sample();
    },
    stop: () => clearInterval(timer),
  };
}
