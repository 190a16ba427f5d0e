/**
 * docs/architecture.md's source layout table says which folder depends on which; this test checks
 * it against the real import graph (scripts/import-graph.mjs, `npm run deps`), so a change that
 * adds or removes an arrow updates the table. The graph itself has no cycle and no arrow pointing
 * up the layers.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/kubectl.js';

interface Graph {
  folders: string[];
  edges: Record<string, Record<string, string[]>>;
  problems: string[];
}

function importGraph(): Graph {
  const result = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'import-graph.mjs'), '--json'], {
    encoding: 'utf8',
  });
  if (result.error) throw result.error;
  return JSON.parse(result.stdout) as Graph;
}

/** `folder -> what the table says it depends on`, from the rows whose first cell is `src/<folder>/`. */
function documentedDependencies(): Map<string, string[]> {
  const markdown = readFileSync(join(PROJECT_ROOT, 'docs', 'architecture.md'), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const folder = /^`src\/([a-z-]+)\/`$/.exec(cells[1] ?? '')?.[1];
    if (!folder) continue;
    const dependsOn = cells[3] ?? '';
    rows.set(
      folder,
      dependsOn === 'nothing'
        ? []
        : dependsOn
            .split(',')
            .map((name) => name.trim())
            .sort(),
    );
  }
  return rows;
}

const graph = importGraph();

test('the folder import graph has no cycle and no arrow up the layers', () => {
  expect(graph.problems).toEqual([]);
});

test("docs/architecture.md's table has a row for every folder of src/, and only those", () => {
  expect([...documentedDependencies().keys()].sort()).toEqual([...graph.folders].sort());
});

test.each(graph.folders)("the table's 'depends on' for src/%s/ is what its files import", (folder) => {
  expect(documentedDependencies().get(folder)).toEqual(Object.keys(graph.edges[folder] ?? {}).sort());
});
