/** Plain-text tables for the bench's console output (and docs/performance.md). */

/** Render rows as a Markdown table with padded columns; numbers-looking cells align right. */
export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((header, c) =>
    Math.max(header.length, ...rows.map((row) => (row[c] ?? '').length)),
  );
  const numeric = headers.map(
    (_, c) => rows.length > 0 && rows.every((row) => /^[-\d.,x%<>= ]*[\d-]/.test(row[c] ?? '')),
  );
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((cell, c) => (numeric[c] ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join(' | ')} |`;
  const rule = `| ${widths.map((width, c) => (numeric[c] ? `${'-'.repeat(width - 1)}:` : '-'.repeat(width))).join(' | ')} |`;
  return [line(headers), rule, ...rows.map(line)].join('\n');
}
