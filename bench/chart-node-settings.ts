/**
 * The Node settings the Helm chart gives each component (heap limit, node flags), read from the
 * chart's values.yaml, so the bench's receiver and controller run as the chart runs them.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The chart's default values file, found upwards from here (`bench/` or `dist-bench/bench/`). */
function valuesFile(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 3; up++, dir = dirname(dir)) {
    const file = join(dir, 'charts', 'keyless-deploy', 'values.yaml');
    if (existsSync(file)) return file;
  }
  throw new Error(`charts/keyless-deploy/values.yaml not found above ${fileURLToPath(import.meta.url)}`);
}

interface ComponentValues {
  heapMiB: number;
  nodeFlags?: string[];
}

/**
 * node's `execArgv` for a component as the chart starts it: `--max-old-space-size` from `heapMiB`
 * (the chart puts it in NODE_OPTIONS) and `nodeFlags` (the chart puts them on node's command line).
 */
export function chartNodeArgs(component: 'receiver' | 'controller'): string[] {
  const file = valuesFile();
  const values = parse(readFileSync(file, 'utf8')) as Record<string, ComponentValues>;
  const { heapMiB, nodeFlags = [] } = values[component] as ComponentValues;
  if (!Number.isInteger(heapMiB)) throw new Error(`${file}: ${component}.heapMiB is not an integer`);
  return [`--max-old-space-size=${heapMiB}`, ...nodeFlags];
}
