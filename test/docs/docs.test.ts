/**
 * The project's documents describe the project: they name nothing outside the repository, and
 * their tables are well formed (a `|` inside a cell must be escaped, or the row falls apart).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/kubectl.js';

const documents = [
  'README.md',
  'charts/keyless-deploy/README.md',
  ...readdirSync(join(PROJECT_ROOT, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`),
];

/** Cells of a table row, honouring `\\|` escapes. */
const cells = (row: string): number => row.trim().replace(/\\\|/g, '').split('|').length - 2;

describe('documentation', () => {
  test.each(documents)('%s names no file outside the repository', (file) => {
    const text = readFileSync(join(PROJECT_ROOT, file), 'utf8');
    expect(text).not.toMatch(/\.\.\/shared|DESIGN\.md/);
  });

  test.each(documents)('%s: every table row has as many cells as its header', (file) => {
    const lines = readFileSync(join(PROJECT_ROOT, file), 'utf8').split('\n');
    const broken: string[] = [];
    let header: number | undefined;
    for (const line of lines) {
      if (!line.trimStart().startsWith('|')) {
        header = undefined;
        continue;
      }
      if (header === undefined) header = cells(line);
      else if (cells(line) !== header)
        broken.push(`${cells(line)} cells, header ${header}: ${line.slice(0, 80)}`);
    }
    expect(broken).toEqual([]);
  });
});
