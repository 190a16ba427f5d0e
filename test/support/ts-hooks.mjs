/**
 * Lets `node --import ./test/support/ts-hooks.mjs src/cli/main.ts` run the project's TypeScript
 * sources as the built binary would run dist/: imports of `./x.js` resolve to `./x.ts`, and `.ts`
 * files are transpiled (no type check; `npm run typecheck` does that) with the project's compiler.
 */
import { existsSync, readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { URL, fileURLToPath } from 'node:url';
import ts from 'typescript';

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (specifier.endsWith('.js') && (specifier.startsWith('.') || specifier.startsWith('/'))) {
      const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (candidate.protocol === 'file:' && existsSync(fileURLToPath(candidate)))
        return { url: candidate.href, shortCircuit: true, format: 'module' };
    }
    return nextResolve(specifier, context);
  },
  load(url, context, nextLoad) {
    if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
    const source = readFileSync(fileURLToPath(url), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: fileURLToPath(url),
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        useDefineForClassFields: true,
        verbatimModuleSyntax: false,
        sourceMap: false,
      },
    });
    return { format: 'module', source: outputText, shortCircuit: true };
  },
});
