/**
 * The TypeScript types in src/api/types.ts and the CRD schemas in crds/ must describe the same
 * fields: this test reads the interfaces with the TypeScript compiler API and compares each with
 * the schema node it mirrors (property names, required vs optional, enums of literal unions).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { parse } from 'yaml';
import { DEPLOY_PHASES, WORKLOAD_KINDS } from '../../src/api/types.js';
import { PROJECT_ROOT } from '../support/kubectl.js';

type Schema = {
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  additionalProperties?: Schema;
};

function rootSchema(file: string): Schema {
  const crd = parse(readFileSync(join(PROJECT_ROOT, 'crds', file), 'utf8')) as {
    spec: { versions: Array<{ schema: { openAPIV3Schema: Schema } }> };
  };
  return crd.spec.versions[0]?.schema.openAPIV3Schema as Schema;
}

function at(schema: Schema, path: string): Schema {
  let node = schema;
  for (const part of path.split('.')) {
    node = part === '[]' ? (node.items as Schema) : (node.properties?.[part] as Schema);
    if (!node) throw new Error(`schema has no ${path}`);
  }
  return node;
}

/** Interface name -> its properties and whether each is optional. */
function interfaces(): Map<string, Map<string, boolean>> {
  const source = ts.createSourceFile(
    'types.ts',
    readFileSync(join(PROJECT_ROOT, 'src', 'api', 'types.ts'), 'utf8'),
    ts.ScriptTarget.Latest,
    true,
  );
  const result = new Map<string, Map<string, boolean>>();
  source.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node)) return;
    const members = new Map<string, boolean>();
    for (const member of node.members) {
      if (ts.isPropertySignature(member) && member.name && ts.isIdentifier(member.name))
        members.set(member.name.text, member.questionToken !== undefined);
    }
    result.set(node.name.text, members);
  });
  return result;
}

const request = rootSchema('deployrequests.keyless.dev.yaml');
const policy = rootSchema('deploypolicies.keyless.dev.yaml');

/** Which schema node each interface mirrors. */
const MIRRORS: Array<[string, Schema]> = [
  ['DeployRequestSpec', at(request, 'spec')],
  ['TargetRef', at(request, 'spec.target')],
  ['ContainerImage', at(request, 'spec.images.[]')],
  ['DeployRequestSource', at(request, 'spec.source')],
  ['GitHubIdentity', at(request, 'spec.source.github')],
  ['DeployRequestStatus', at(request, 'status')],
  ['Condition', at(request, 'status.conditions.[]')],
  ['GitHubReportStatus', at(request, 'status.github')],
  ['AppliedRolloutSettings', at(request, 'status.rolloutSettings')],
  ['DeployPolicySpec', at(policy, 'spec')],
  ['PolicyTarget', at(policy, 'spec.targets.[]')],
  ['PolicySubject', at(policy, 'spec.subjects.[]')],
  ['PolicyImages', at(policy, 'spec.images')],
  ['DeployWindow', at(policy, 'spec.windows.[]')],
  ['DeployFreeze', at(policy, 'spec.freezes.[]')],
  ['PolicyApproval', at(policy, 'spec.approval')],
  ['PolicyRollout', at(policy, 'spec.rollout')],
  ['PolicyGitHubReporting', at(policy, 'spec.github')],
  ['DeployPolicyStatus', at(policy, 'status')],
];

describe('src/api/types.ts agrees with crds/', () => {
  const declared = interfaces();

  test.each(MIRRORS.map(([name, schema]) => [name, schema] as const))(
    '%s has exactly the schema fields, optional where the schema does not require them',
    (name, schema) => {
      const members = declared.get(name);
      expect(members).toBeDefined();
      const schemaFields = Object.keys(schema.properties ?? {}).sort();
      expect([...(members?.keys() ?? [])].sort()).toEqual(schemaFields);
      const required = new Set(schema.required ?? []);
      for (const [field, optional] of members ?? []) {
        // Required in the schema <=> required in the type. (Defaulted fields are optional in both.)
        expect(`${name}.${field} ${optional ? 'optional' : 'required'}`).toBe(
          `${name}.${field} ${required.has(field) ? 'required' : 'optional'}`,
        );
      }
    },
  );

  test('enums agree: phases and workload kinds', () => {
    expect(at(request, 'status.phase').enum).toEqual([...DEPLOY_PHASES]);
    expect(at(request, 'spec.target.kind').enum).toEqual([...WORKLOAD_KINDS]);
    expect(at(policy, 'spec.targets.[].kind').enum).toEqual([...WORKLOAD_KINDS]);
    expect(at(request, 'spec.source.type').enum).toEqual(['github-oidc', 'github-deployment', 'kubernetes']);
  });

  test('every schema field has a description (kubectl explain teaches the API), except metadata', () => {
    const missing: string[] = [];
    const walk = (schema: Schema & { description?: string }, path: string): void => {
      // A real API server refuses anything but name/generateName under metadata, a description too.
      if (/^Deploy(Request|Policy)\.metadata$/.test(path)) {
        expect(schema).toEqual({ type: 'object' });
        return;
      }
      if (path.split('.').length > 1 && !schema.description) missing.push(path);
      for (const [key, child] of Object.entries(schema.properties ?? {})) walk(child, `${path}.${key}`);
      if (schema.items) walk(schema.items, `${path}[]`);
      if (schema.additionalProperties) walk(schema.additionalProperties, `${path}{}`);
    };
    walk(request, 'DeployRequest');
    walk(policy, 'DeployPolicy');
    expect(missing).toEqual([]);
  });
});
