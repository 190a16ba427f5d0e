#!/usr/bin/env node
/**
 * The installed `keyless-deploy` binary. It checks the Node.js version before anything else is
 * loaded: the CLI's modules need Node 24 and, on an older Node, would fail with an unrelated stack
 * trace from deep inside a dependency. Only after the check is the real entry point imported.
 */
import { nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem) {
  process.stderr.write(`keyless-deploy: ${problem}\n`);
  process.exit(1);
}
const { runMain } = await import('./main.js');
await runMain();
