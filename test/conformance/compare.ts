/**
 * Compares two transcripts of one scenario (embedded and real) and names every difference by its
 * location: `step N <what> <path>`. Locations are stable between runs (values are normalised), so
 * the accepted-differences file lists them; values are shown only in the printed diff.
 */
import type { StepRecord } from './runner.js';

export interface Difference {
  /** `#2 read.body.spec.x` – step number (1-based), then the path in the step record. */
  location: string;
  embedded: string;
  real: string;
}

const show = (value: unknown): string => {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
};

function diff(a: unknown, b: unknown, path: string, out: Difference[], prefix: string): void {
  if (JSON.stringify(a) === JSON.stringify(b)) return;
  const bothObjects =
    a !== null &&
    b !== null &&
    typeof a === 'object' &&
    typeof b === 'object' &&
    Array.isArray(a) === Array.isArray(b);
  if (bothObjects && !Array.isArray(a)) {
    const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
    for (const key of [...keys].sort())
      diff(
        (a as Record<string, unknown>)[key],
        (b as Record<string, unknown>)[key],
        path ? `${path}.${key}` : key,
        out,
        prefix,
      );
    return;
  }
  if (bothObjects && Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((item, index) => diff(item, b[index], `${path}[${index}]`, out, prefix));
    return;
  }
  // Multi-line text (kubectl output): point at the first differing line.
  if (typeof a === 'string' && typeof b === 'string' && (a.includes('\n') || b.includes('\n'))) {
    const aLines = a.split('\n');
    const bLines = b.split('\n');
    const line = aLines.findIndex((text, index) => text !== bLines[index]);
    const index = line < 0 ? aLines.length : line;
    out.push({
      location: `${prefix} ${path}:${index + 1}`,
      embedded: show(aLines[index]),
      real: show(bLines[index]),
    });
    return;
  }
  out.push({ location: `${prefix} ${path}`, embedded: show(a), real: show(b) });
}

/** Every difference between the embedded and the real transcript of a scenario. */
export function compareTranscripts(embedded: StepRecord[], real: StepRecord[]): Difference[] {
  const out: Difference[] = [];
  embedded.forEach((record, index) =>
    diff(
      { result: record.result, read: record.read },
      { result: real[index]?.result, read: real[index]?.read },
      '',
      out,
      `#${index + 1}`,
    ),
  );
  return out;
}
