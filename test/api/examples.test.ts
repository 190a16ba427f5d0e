/** The example manifests in examples/ and docs/policy.md are valid against the CRDs. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { prepareCustomResource } from '../../src/apiserver/schema/index.js';
import { PROJECT_ROOT } from '../support/kubectl.js';

function schema(file: string): Record<string, unknown> {
  const crd = parse(readFileSync(join(PROJECT_ROOT, 'crds', file), 'utf8')) as {
    spec: { versions: Array<{ schema: { openAPIV3Schema: Record<string, unknown> } }> };
  };
  return crd.spec.versions[0]?.schema.openAPIV3Schema as Record<string, unknown>;
}

const files = [
  ...readdirSync(join(PROJECT_ROOT, 'examples', 'policies')).map((f) => join('examples', 'policies', f)),
  join('examples', 'deployrequest-manual.yaml'),
];

test.each(files)('%s is valid', (file) => {
  const object = parse(readFileSync(join(PROJECT_ROOT, file), 'utf8')) as Record<string, unknown>;
  const crd =
    object.kind === 'DeployPolicy' ? 'deploypolicies.keyless.dev.yaml' : 'deployrequests.keyless.dev.yaml';
  const result = prepareCustomResource(schema(crd), object, undefined);
  expect(result.causes).toEqual([]);
  expect(result.unknownFields).toEqual([]);
  expect(result.warnings).toEqual([]);
});
