/**
 * The Node.js version the CLI needs. This module imports nothing, so `bin.ts` can load it on any
 * Node and say what is wrong before a module that needs Node 24 fails to load.
 */

/** Oldest Node.js major version the CLI runs on (package.json `engines.node`). */
export const REQUIRED_NODE_MAJOR = 24;

/** Why this Node cannot run the CLI, or undefined when it can. */
export function nodeVersionProblem(version: string, execPath: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1] ?? Number.NaN);
  if (Number.isInteger(major) && major >= REQUIRED_NODE_MAJOR) return undefined;
  return (
    `needs Node.js ${REQUIRED_NODE_MAJOR} or newer, but ${execPath} is Node.js ${version}. ` +
    `Install Node.js ${REQUIRED_NODE_MAJOR}, or run it from a checkout with npm, which brings Node ${REQUIRED_NODE_MAJOR}: ` +
    `npm ci, then npm run -s cli -- COMMAND ...`
  );
}
