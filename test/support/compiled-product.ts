/**
 * The product's sources compiled to JavaScript in `dist-test/` (git-ignored), as `npm run build`
 * emits them but without the type check, so that a test can run the binary as it ships: without
 * the TypeScript compiler in the process (ts-hooks adds about 200 MiB of RSS), for measurements.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from './kubectl.js';

/** Compile `src/` into `dist-test/`; returns the path of the compiled `cli/bin.js`. */
export function compiledProduct(): string {
  const source = join(PROJECT_ROOT, 'src');
  const out = join(PROJECT_ROOT, 'dist-test');
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : path.endsWith('.ts') ? [path] : [];
    });
  for (const file of walk(source)) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        useDefineForClassFields: true,
        verbatimModuleSyntax: false,
      },
    });
    const target = join(out, relative(source, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  return join(out, 'cli', 'bin.js');
}
