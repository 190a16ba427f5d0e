/**
 * The API's shapes (src/api/types.ts) and the Kubernetes interface everything talks through
 * (src/kube/kube-client.ts) explain themselves: every exported declaration has a TSDoc comment, and
 * so has every member of kube-client.ts's interfaces. (The API's fields are described in the CRDs,
 * which test/api/types-match-crds.test.ts keeps equal to the types.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from '../support/kubectl.js';

function source(path: string): ts.SourceFile {
  return ts.createSourceFile(
    path,
    readFileSync(join(PROJECT_ROOT, path), 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
}

function nameOf(node: ts.Node): string {
  if (ts.isVariableStatement(node))
    return node.declarationList.declarations.map((d) => d.name.getText()).join();
  const named = node as ts.Node & { name?: ts.Node };
  return named.name?.getText() ?? ts.SyntaxKind[node.kind];
}

const documented = (node: ts.Node): boolean => ts.getJSDocCommentsAndTags(node).length > 0;

test.each(['src/api/types.ts', 'src/kube/kube-client.ts'])('every export of %s has TSDoc', (path) => {
  const undocumented = source(path)
    .statements.filter(
      (node) => ts.getCombinedModifierFlags(node as unknown as ts.Declaration) & ts.ModifierFlags.Export,
    )
    .filter((node) => !documented(node))
    .map(nameOf);
  expect(undocumented).toEqual([]);
});

test("every member of kube-client.ts's interfaces has TSDoc", () => {
  const undocumented = source('src/kube/kube-client.ts')
    .statements.filter(ts.isInterfaceDeclaration)
    .flatMap((node) =>
      node.members
        .filter((member) => !documented(member))
        .map((member) => `${node.name.text}.${nameOf(member)}`),
    );
  expect(undocumented).toEqual([]);
});
