import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { prepareCustomResource, validateCrdDefinition } from '../../../src/apiserver/schema/index.js';
import { PROJECT_ROOT } from '../../support/kubectl.js';

const crd = (file: string): Record<string, unknown> =>
  parse(readFileSync(join(PROJECT_ROOT, 'crds', file), 'utf8'));
const schemaOf = (object: Record<string, unknown>): Record<string, unknown> =>
  (
    (object.spec as { versions: Array<{ schema: { openAPIV3Schema: Record<string, unknown> } }> })
      .versions[0] as { schema: { openAPIV3Schema: Record<string, unknown> } }
  ).schema.openAPIV3Schema;

const requestSchema = schemaOf(crd('deployrequests.keyless.dev.yaml'));
const policySchema = schemaOf(crd('deploypolicies.keyless.dev.yaml'));

const request = (spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'keyless.dev/v1alpha1',
  kind: 'DeployRequest',
  metadata: { name: 'r' },
  spec: {
    target: { kind: 'Deployment', name: 'web' },
    images: [{ container: 'web', image: 'ghcr.io/acme/web:1' }],
    source: { type: 'kubernetes' },
    ...spec,
  },
});

describe('CRD schema handling', () => {
  test("the project's CRDs are valid structural schemas", () => {
    expect(validateCrdDefinition(crd('deployrequests.keyless.dev.yaml'))).toEqual([]);
    expect(validateCrdDefinition(crd('deploypolicies.keyless.dev.yaml'))).toEqual([]);
  });

  test('every CEL rule of the CRDs is enforced here (no "not enforced" warnings on valid objects)', () => {
    const valid = prepareCustomResource(requestSchema, request(), undefined);
    expect(valid.causes).toEqual([]);
    expect(valid.warnings).toEqual([]);
    const update = prepareCustomResource(requestSchema, request(), request());
    expect(update.warnings).toEqual([]);
    const policy = prepareCustomResource(
      policySchema,
      {
        spec: {
          targets: [{ kind: 'Deployment', name: 'glob:web-*', containers: ['*'] }],
          subjects: [{ repositoryId: '1' }],
          images: { repositories: ['ghcr.io/acme/web'] },
          freezes: [{ start: '2026-12-20T00:00:00Z', end: '2027-01-02T00:00:00Z' }],
        },
      },
      undefined,
    );
    expect(policy.causes).toEqual([]);
    expect(policy.warnings).toEqual([]);
  });

  test('defaults are applied and unknown fields pruned and reported', () => {
    const result = prepareCustomResource(
      policySchema,
      {
        spec: {
          targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
          subjects: [{ repositoryId: '1' }],
          images: { repositories: ['a'] },
          colour: 'blue',
        },
      },
      undefined,
    );
    expect(result.unknownFields).toEqual(['spec.colour']);
    expect((result.object.spec as Record<string, unknown>).colour).toBeUndefined();
    expect((result.object.spec as Record<string, unknown>).allowManual).toBe(false);
    expect((result.object.spec as { rollout?: unknown }).rollout).toBeUndefined();
  });

  test.each([
    [
      { target: { kind: 'Pod', name: 'web' } },
      'FieldValueNotSupported',
      'spec.target.kind',
      'Unsupported value: "Pod": supported values: "Deployment", "StatefulSet", "DaemonSet", "CronJob"',
    ],
    [
      { images: [] },
      'FieldValueInvalid',
      'spec.images',
      'Invalid value: 0: spec.images in body should have at least 1 items',
    ],
    [
      { reason: 'x'.repeat(1025) },
      'FieldValueTooLong',
      'spec.reason',
      'Too long: may not be more than 1024 bytes',
    ],
    [
      {
        images: [
          { container: 'web', image: 'a' },
          { container: 'web', image: 'b' },
        ],
      },
      'FieldValueDuplicate',
      'spec.images[1]',
      'Duplicate value: {"container":"web"}',
    ],
    [{ target: { kind: 'Deployment' } }, 'FieldValueRequired', 'spec.target.name', 'Required value'],
    [
      { target: { kind: 'Deployment', name: 7 } },
      // As kube-apiserver 1.36 answers (measured by the differential suite).
      'FieldValueTypeInvalid',
      'spec.target.name',
      'spec.target.name in body must be of type string: "integer"',
    ],
    [
      { source: { type: 'kubernetes', attestation: 'x' } },
      'FieldValueInvalid',
      'spec',
      'source.github must be set for GitHub sources',
    ],
    [
      { images: Array.from({ length: 33 }, (_, i) => ({ container: `c${i}`, image: 'a' })) },
      'FieldValueTooMany',
      'spec.images',
      'Too many: 33: must have at most 32 items',
    ],
  ])('rejects %j with %s at %s', (spec, reason, field, message) => {
    const result = prepareCustomResource(requestSchema, request(spec), undefined);
    expect(result.causes).toContainEqual({ reason, field, message: expect.stringContaining(message) });
  });

  test('transition rules: the spec is immutable on update, and only on update', () => {
    const changed = request({ reason: 'new' });
    expect(prepareCustomResource(requestSchema, changed, undefined).causes).toEqual([]);
    const causes = prepareCustomResource(requestSchema, changed, request()).causes;
    expect(causes).toEqual([
      {
        reason: 'FieldValueInvalid',
        field: 'spec',
        message: 'Invalid value: spec is immutable; create a new DeployRequest',
      },
    ]);
  });

  test('a CRD with a non-structural schema or a broken rule is refused', () => {
    const bad = crd('deployrequests.keyless.dev.yaml');
    const schema = schemaOf(bad) as { properties: { spec: Record<string, unknown> } };
    schema.properties.spec.uniqueItems = true;
    (schema.properties.spec['x-kubernetes-validations'] as Array<{ rule: string }>).push({ rule: 'self.(' });
    delete (schema.properties.spec.properties as Record<string, Record<string, unknown>>).reason?.type;
    const causes = validateCrdDefinition(bad);
    expect(causes.map((c) => c.field)).toEqual(
      expect.arrayContaining([
        'spec.validation.openAPIV3Schema.properties[spec].uniqueItems',
        'spec.validation.openAPIV3Schema.properties[spec].properties[reason].type',
        'spec.validation.openAPIV3Schema.properties[spec].x-kubernetes-validations[2].rule',
      ]),
    );
  });

  test('hostile input: __proto__ keys stay plain data, deep nesting is bounded', () => {
    const hostile = JSON.parse(
      '{"apiVersion":"keyless.dev/v1alpha1","kind":"DeployRequest","metadata":{},"spec":{"__proto__":{"polluted":true},"payload":{"__proto__":{"x":1}}}}',
    );
    const result = prepareCustomResource(requestSchema, hostile, undefined);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(result.unknownFields).toContain('spec.__proto__');
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 500; i++) deep = (deep.a = {}) as Record<string, unknown>;
    expect(() => prepareCustomResource(requestSchema, request({ payload: root }), undefined)).not.toThrow();
  });

  test('property: arbitrary JSON in spec never throws, and invalid specs produce causes', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = prepareCustomResource(
          requestSchema,
          { apiVersion: 'keyless.dev/v1alpha1', kind: 'DeployRequest', metadata: {}, spec: value as never },
          undefined,
        );
        return (
          Array.isArray(result.causes) &&
          (typeof value === 'object' && value !== null && !Array.isArray(value)
            ? true
            : result.causes.length > 0)
        );
      }),
      { numRuns: 500 },
    );
  });
});
