#!/usr/bin/env node
/**
 * The folder import graph of `src/`: which top-level folder imports which (type-only imports and
 * re-exports count: they are dependencies too). Prints one line per folder and fails (exit 1) when
 * the graph has a cycle or an arrow that points up the layers below. `--json` prints the graph as
 * JSON instead (the architecture test compares it with docs/architecture.md).
 *
 *   npm run deps            # or: node scripts/import-graph.mjs [--json]
 *
 * Layers, lowest first. A folder may import only folders of lower layers; a new folder must be
 * given a layer here (the script refuses folders it does not know).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

/** Folders by layer, lowest first. */
export const LAYERS = [
  ['api', 'observability', 'settings'],
  ['kube', 'oidc', 'attestation', 'policy'],
  ['runtime', 'apiserver'],
  ['github', 'receiver'],
  ['controller'],
  ['playground'],
  ['cli'],
  ['action'],
];

function layerOf(folder) {
  const index = LAYERS.findIndex((layer) => layer.includes(folder));
  return index < 0 ? undefined : index;
}

function sourceFiles(directory) {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The top-level folder of a file under src/, e.g. `controller` for src/controller/x.ts. */
function folderOf(file) {
  return relative(SRC, file).split(sep)[0];
}

/**
 * `{ folders, edges }`: every folder of src/, and for each folder the folders it imports with the
 * files that do so (`from -> to -> [file, ...]`, paths relative to the repository).
 */
export function importGraph() {
  const files = sourceFiles(SRC);
  const folders = [...new Set(files.map(folderOf))].sort();
  const edges = {};
  for (const folder of folders) edges[folder] = {};
  for (const file of files) {
    const from = folderOf(file);
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue; // a package, not our code
      const target = resolve(dirname(file), fileName);
      if (!target.startsWith(SRC + sep)) continue;
      const to = folderOf(target);
      if (to === from) continue;
      (edges[from][to] ??= []).push(relative(ROOT, file));
    }
  }
  for (const folder of folders)
    edges[folder] = Object.fromEntries(
      Object.entries(edges[folder])
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([to, list]) => [to, [...new Set(list)].sort()]),
    );
  return { folders, edges };
}

/** Cycles of the folder graph, each as a path `a -> b -> ... -> a` (Tarjan's strongly connected components). */
export function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  let counter = 0;
  const visit = (folder) => {
    index.set(folder, counter);
    low.set(folder, counter++);
    stack.push(folder);
    onStack.add(folder);
    for (const next of Object.keys(graph.edges[folder] ?? {})) {
      if (!index.has(next)) {
        visit(next);
        low.set(folder, Math.min(low.get(folder), low.get(next)));
      } else if (onStack.has(next)) low.set(folder, Math.min(low.get(folder), index.get(next)));
    }
    if (low.get(folder) === index.get(folder)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== folder);
      if (component.length > 1) found.push([...component.reverse(), component[0]].join(' -> '));
    }
  };
  for (const folder of graph.folders) if (!index.has(folder)) visit(folder);
  return found;
}

/** Arrows that do not point to a lower layer, and folders without a layer. */
export function layerViolations(graph) {
  const problems = [];
  for (const folder of graph.folders)
    if (layerOf(folder) === undefined)
      problems.push(`src/${folder}/ has no layer: add it to LAYERS in scripts/import-graph.mjs`);
  for (const [from, targets] of Object.entries(graph.edges)) {
    for (const [to, files] of Object.entries(targets)) {
      const a = layerOf(from);
      const b = layerOf(to);
      if (a === undefined || b === undefined || b < a) continue;
      problems.push(
        `${from} (layer ${a}) imports ${to} (layer ${b}), which is not below it: ${files.join(', ')}`,
      );
    }
  }
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const graph = importGraph();
  const problems = [...cycles(graph).map((cycle) => `cycle: ${cycle}`), ...layerViolations(graph)];
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ ...graph, layers: LAYERS, problems }, null, 2));
  } else {
    for (const [index, layer] of LAYERS.entries()) {
      for (const folder of layer.filter((name) => graph.folders.includes(name))) {
        const targets = Object.keys(graph.edges[folder] ?? {});
        console.log(`${index} ${folder.padEnd(14)} -> ${targets.length ? targets.join(', ') : '(nothing)'}`);
      }
    }
    for (const problem of problems) console.log(`PROBLEM ${problem}`);
    console.log(problems.length ? `${problems.length} problem(s)` : 'no cycles, every arrow points down');
  }
  process.exitCode = problems.length ? 1 : 0;
}
