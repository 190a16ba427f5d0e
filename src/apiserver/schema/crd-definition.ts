/**
 * Validation of a CustomResourceDefinition itself: names, scope, versions (exactly one storage
 * version), and the structural-schema rules (a type on every node unless it preserves unknown
 * fields or is int-or-string, no `uniqueItems`, list-map keys required, known keywords only,
 * CEL rules that compile).
 */
import { compileRule } from './cel-rules.js';
import { causes, type FieldCause } from './field-cause.js';

type Json = Record<string, unknown>;

const KNOWN_KEYWORDS = new Set([
  'description',
  'type',
  'format',
  'title',
  'default',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'multipleOf',
  'enum',
  'maxProperties',
  'minProperties',
  'required',
  'items',
  'allOf',
  'oneOf',
  'anyOf',
  'not',
  'properties',
  'additionalProperties',
  'nullable',
  'example',
  'externalDocs',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-list-type',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkSchema(
  schema: unknown,
  path: string,
  out: FieldCause[],
  depth: number,
  inValueValidation = false,
): void {
  if (depth > 64) {
    out.push(causes.invalid(path, 'object', 'schema nested too deeply'));
    return;
  }
  if (!isObject(schema)) {
    out.push(causes.invalid(path, schema, 'must be an object'));
    return;
  }
  for (const key of Object.keys(schema)) {
    if (!KNOWN_KEYWORDS.has(key)) out.push(causes.forbidden(`${path}.${key}`, 'unknown field'));
  }
  if (schema.uniqueItems === true)
    out.push(
      causes.forbidden(
        `${path}.uniqueItems`,
        'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
      ),
    );
  const preserves =
    schema['x-kubernetes-preserve-unknown-fields'] === true || schema['x-kubernetes-int-or-string'] === true;
  if (!inValueValidation && typeof schema.type !== 'string' && !preserves && depth > 0)
    out.push(causes.required(`${path}.type`));
  if (schema['x-kubernetes-list-type'] === 'map') {
    const keys = schema['x-kubernetes-list-map-keys'];
    if (!Array.isArray(keys) || keys.length === 0)
      out.push(causes.required(`${path}.x-kubernetes-list-map-keys`));
    const items = schema.items as Json | undefined;
    for (const key of Array.isArray(keys) ? keys : []) {
      const property = (items?.properties as Json | undefined)?.[key as string];
      const required = ((items?.required as string[] | undefined) ?? []).includes(key as string);
      if (!property) out.push(causes.required(`${path}.items.properties[${String(key)}]`));
      else if (!required && (property as Json).default === undefined) {
        out.push(causes.required(`${path}.items.required`));
      }
    }
  }
  for (const [index, rule] of (
    (schema['x-kubernetes-validations'] as unknown[] | undefined) ?? []
  ).entries()) {
    if (!isObject(rule) || typeof rule.rule !== 'string') {
      out.push(causes.required(`${path}.x-kubernetes-validations[${index}].rule`));
      continue;
    }
    const compiled = compileRule(rule.rule);
    if (compiled instanceof Error) {
      out.push(
        causes.invalid(
          `${path}.x-kubernetes-validations[${index}].rule`,
          rule.rule,
          `compilation failed: ${compiled.message.split('\n')[0]}`,
        ),
      );
    }
  }
  if (isObject(schema.properties)) {
    for (const [key, child] of Object.entries(schema.properties))
      checkSchema(child, `${path}.properties[${key}]`, out, depth + 1, inValueValidation);
  }
  if (schema.items !== undefined)
    checkSchema(schema.items, `${path}.items`, out, depth + 1, inValueValidation);
  if (isObject(schema.additionalProperties))
    checkSchema(
      schema.additionalProperties,
      `${path}.additionalProperties`,
      out,
      depth + 1,
      inValueValidation,
    );
  for (const combinator of ['allOf', 'anyOf', 'oneOf']) {
    const list = schema[combinator];
    if (Array.isArray(list))
      list.forEach((sub, index) => checkSchema(sub, `${path}.${combinator}[${index}]`, out, depth + 1, true));
  }
}

/**
 * The root `metadata` is the API server's own: a schema may say nothing about it but its type and
 * `name`/`generateName` (a description too is refused, as kube-apiserver refuses it).
 */
function checkRootMetadata(schema: unknown, path: string, out: FieldCause[]): void {
  const metadata = isObject(schema) && isObject(schema.properties) ? schema.properties.metadata : undefined;
  if (!isObject(metadata)) return;
  const extraKeys = Object.keys(metadata).filter((key) => key !== 'type' && key !== 'properties');
  const extraProperties = isObject(metadata.properties)
    ? Object.keys(metadata.properties).filter((key) => key !== 'name' && key !== 'generateName')
    : [];
  if (metadata.type !== 'object' || extraKeys.length > 0 || extraProperties.length > 0)
    out.push(
      causes.forbidden(
        `${path}.properties[metadata]`,
        'must not specify anything other than name and generateName, but metadata is implicitly specified',
      ),
    );
}

/** Field causes for a CRD object (empty when it is acceptable). */
export function validateCrdDefinition(crd: Record<string, unknown>): FieldCause[] {
  const out: FieldCause[] = [];
  const spec = crd.spec;
  if (!isObject(spec)) return [causes.required('spec')];
  if (
    typeof spec.group !== 'string' ||
    !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/.test(spec.group)
  ) {
    out.push(causes.invalid('spec.group', spec.group, 'should be a domain with at least one dot'));
  }
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster')
    out.push(causes.notSupported('spec.scope', spec.scope, ['Cluster', 'Namespaced']));
  const names = spec.names;
  if (!isObject(names)) out.push(causes.required('spec.names'));
  else {
    if (typeof names.plural !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(names.plural))
      out.push(causes.invalid('spec.names.plural', names.plural, 'a lowercase RFC 1123 label'));
    if (typeof names.kind !== 'string' || !/^[A-Z][A-Za-z0-9]*$/.test(names.kind))
      out.push(causes.invalid('spec.names.kind', names.kind, 'must be a CamelCase name'));
  }
  const versions = spec.versions;
  if (!Array.isArray(versions) || versions.length === 0) out.push(causes.required('spec.versions'));
  else {
    const storage = versions.filter((version) => isObject(version) && version.storage === true);
    if (storage.length !== 1)
      out.push(
        causes.invalid(
          'spec.versions',
          storage.length,
          'must have exactly one version marked as storage version',
        ),
      );
    versions.forEach((version, index) => {
      if (!isObject(version)) return;
      if (typeof version.name !== 'string') out.push(causes.required(`spec.versions[${index}].name`));
      const schema = (version.schema as Json | undefined)?.openAPIV3Schema;
      if (schema === undefined) out.push(causes.required(`spec.versions[${index}].schema.openAPIV3Schema`));
      else {
        // kube-apiserver hoists a schema all versions share into the internal spec.validation and
        // names that path in its errors.
        const path =
          versions.length === 1
            ? 'spec.validation.openAPIV3Schema'
            : `spec.versions[${index}].schema.openAPIV3Schema`;
        checkSchema(schema, path, out, 0);
        checkRootMetadata(schema, path, out);
      }
    });
  }
  return out;
}
