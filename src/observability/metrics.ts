/**
 * Prometheus metrics with prom-client. Every component gets its metrics from a `Metrics` object made
 * here, so that tests can make a fresh registry each (no global default registry shared between
 * servers in one process) and so that asking twice for the same metric returns the same one.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsOptions {
  /** Prefix of every metric name; default `keyless_`. */
  prefix?: string;
  /** Also collect Node process metrics (CPU, memory, event loop). Default false; servers turn it on. */
  collectDefaults?: boolean;
}

/** A registry plus get-or-create helpers for counters, gauges and histograms. */
export interface Metrics {
  readonly registry: Registry;
  /** The counter `<prefix><name>`, created on first use. */
  counter(name: string, help: string, labelNames?: readonly string[]): Counter<string>;
  /** The gauge `<prefix><name>`, created on first use. */
  gauge(name: string, help: string, labelNames?: readonly string[]): Gauge<string>;
  /** The histogram `<prefix><name>` (seconds buckets by default), created on first use. */
  histogram(
    name: string,
    help: string,
    labelNames?: readonly string[],
    buckets?: number[],
  ): Histogram<string>;
  /** Prometheus text exposition of everything registered. */
  render(): Promise<string>;
  /** Content type to serve `render()` with. */
  readonly contentType: string;
}

/** Buckets for latencies of in-process work (signature checks, API calls): 1 ms to 10 s. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Make a metrics registry. One per server (or per test) keeps metric values independent. */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const prefix = options.prefix ?? 'keyless_';
  const registry = new Registry();
  if (options.collectDefaults) collectDefaultMetrics({ register: registry, prefix });
  const made = new Map<string, Counter<string> | Gauge<string> | Histogram<string>>();

  function getOrCreate<M extends Counter<string> | Gauge<string> | Histogram<string>>(
    kind: string,
    name: string,
    create: (fullName: string) => M,
  ): M {
    const fullName = `${prefix}${name}`;
    const existing = made.get(fullName);
    if (existing) {
      // Two components asking for one name with different kinds is a programming error worth a loud failure.
      if (existing.constructor.name !== kind)
        throw new Error(`metric ${fullName} already registered as another kind`);
      return existing as M;
    }
    const metric = create(fullName);
    made.set(fullName, metric);
    return metric;
  }

  return {
    registry,
    contentType: registry.contentType,
    counter: (name, help, labelNames = []) =>
      getOrCreate('Counter', name, (n) => new Counter({ name: n, help, labelNames, registers: [registry] })),
    gauge: (name, help, labelNames = []) =>
      getOrCreate('Gauge', name, (n) => new Gauge({ name: n, help, labelNames, registers: [registry] })),
    histogram: (name, help, labelNames = [], buckets = LATENCY_BUCKETS) =>
      getOrCreate(
        'Histogram',
        name,
        (n) => new Histogram({ name: n, help, labelNames, buckets, registers: [registry] }),
      ),
    render: () => registry.metrics(),
  };
}
