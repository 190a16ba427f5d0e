/**
 * Discovery documents (`/api`, `/apis`, `/api/v1`, `/apis/<group>/<version>`), `/version`, and the
 * OpenAPI v3 documents (`/openapi/v3`, `/openapi/v3/<api|apis/group>/<version>`) that kubectl uses
 * for `explain` and to learn that the server does field validation. Legacy (unaggregated)
 * discovery only: kubectl falls back to it when the answer is plain `application/json`.
 */
import { createHash } from 'node:crypto';
import type { ResourceDefinition, ResourceRegistry } from './resource-registry.js';

type Json = Record<string, unknown>;

/**
 * What `/version` reports: the release of the real control plane the project tests against
 * (docs/real-control-plane.md), so version checks (Helm's `kubeVersion`, kubectl's skew warning)
 * judge the playground as they judge that cluster; the build metadata says which server it is.
 */
export const SERVER_VERSION = {
  major: '1',
  minor: '36',
  emulationMajor: '1',
  emulationMinor: '36',
  minCompatibilityMajor: '1',
  minCompatibilityMinor: '35',
  gitVersion: 'v1.36.3+keyless-embedded',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'n/a (Node.js)',
  compiler: 'n/a',
  platform: `${process.platform}/${process.arch}`,
};

/** `/api`: the core group's versions. */
export function coreVersions(): Json {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
  };
}

/** `/apis`: every named group. */
export function groupList(registry: ResourceRegistry): Json {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: registry.groups().map(({ name, versions }) => ({
      name,
      versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
      preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
    })),
  };
}

/** `/apis/<group>`: one group. */
export function group(registry: ResourceRegistry, name: string): Json | undefined {
  const found = registry.groups().find((g) => g.name === name);
  if (!found) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name,
    versions: found.versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
    preferredVersion: { groupVersion: `${name}/${found.versions[0]}`, version: found.versions[0] },
  };
}

/** `/api/v1` or `/apis/<group>/<version>`: the resources of a group version, with subresources. */
export function resourceList(
  registry: ResourceRegistry,
  groupName: string,
  version: string,
): Json | undefined {
  const resources = registry.all().filter((r) => r.group === groupName && r.version === version);
  if (resources.length === 0) return undefined;
  const entries: Json[] = [];
  for (const resource of resources) {
    entries.push({
      name: resource.plural,
      singularName: resource.singular,
      namespaced: resource.namespaced,
      kind: resource.kind,
      verbs: resource.verbs,
      ...(resource.shortNames.length > 0 ? { shortNames: resource.shortNames } : {}),
      ...(resource.categories.length > 0 ? { categories: resource.categories } : {}),
      storageVersionHash: createHash('sha256')
        .update(`${resource.group}/${resource.plural}`)
        .digest('base64')
        .slice(0, 11),
    });
    if (resource.hasStatus) {
      entries.push({
        name: `${resource.plural}/status`,
        singularName: '',
        namespaced: resource.namespaced,
        kind: resource.kind,
        verbs: ['get', 'patch', 'update'],
      });
    }
    if (resource.hasScale) {
      // kubectl's scale client reads the Scale kind and its group/version from this entry.
      entries.push({
        name: `${resource.plural}/scale`,
        singularName: '',
        namespaced: resource.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      });
    }
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupName ? `${groupName}/${version}` : version,
    resources: entries,
  };
}

function groupVersionPath(groupName: string, version: string): string {
  return groupName ? `apis/${groupName}/${version}` : `api/${version}`;
}

/** Reverse-DNS schema name prefix used by the real server, e.g. `dev.keyless.v1alpha1`. */
function schemaPrefix(groupName: string, version: string): string {
  if (groupName === '') return `io.k8s.api.core.${version}`;
  if (!groupName.includes('.')) return `io.k8s.api.${groupName}.${version}`;
  return `${groupName.split('.').reverse().join('.')}.${version}`;
}

const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

const OBJECT_META_SCHEMA: Json = {
  description:
    'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
  type: 'object',
  properties: {
    name: { type: 'string', description: 'Name must be unique within a namespace.' },
    generateName: {
      type: 'string',
      description:
        'GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided.',
    },
    namespace: {
      type: 'string',
      description: 'Namespace defines the space within which each name must be unique.',
    },
    labels: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description:
        'Map of string keys and values that can be used to organize and categorize (scope and select) objects.',
    },
    annotations: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description:
        'Annotations is an unstructured key value map stored with a resource that may be set by external tools to store and retrieve arbitrary metadata.',
    },
    uid: { type: 'string', description: 'UID is the unique in time and space value for this object.' },
    resourceVersion: {
      type: 'string',
      description: 'An opaque value that represents the internal version of this object.',
    },
    generation: {
      type: 'integer',
      format: 'int64',
      description: 'A sequence number representing a specific generation of the desired state.',
    },
    creationTimestamp: {
      type: 'string',
      format: 'date-time',
      description:
        'CreationTimestamp is a timestamp representing the server time when this object was created.',
    },
    deletionTimestamp: {
      type: 'string',
      format: 'date-time',
      description: 'DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted.',
    },
    finalizers: {
      type: 'array',
      items: { type: 'string' },
      description: 'Must be empty before the object is deleted from the registry.',
    },
    ownerReferences: {
      type: 'array',
      items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      description: 'List of objects depended by this object.',
    },
    managedFields: {
      type: 'array',
      items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      description:
        'ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.',
    },
  },
};

function kindSchema(resource: ResourceDefinition): Json {
  const gvk = [{ group: resource.group, version: resource.version, kind: resource.kind }];
  if (resource.schema) {
    const schema = structuredClone(resource.schema) as Json;
    const properties = { ...((schema.properties ?? {}) as Json) };
    properties.apiVersion = {
      type: 'string',
      description: 'APIVersion defines the versioned schema of this representation of an object.',
    };
    properties.kind = {
      type: 'string',
      description: 'Kind is a string value representing the REST resource this object represents.',
    };
    properties.metadata = {
      allOf: [{ $ref: `#/components/schemas/${OBJECT_META}` }],
      default: {},
      description: "Standard object's metadata.",
    };
    return { ...schema, type: 'object', properties, 'x-kubernetes-group-version-kind': gvk };
  }
  return {
    description: `${resource.kind} (served by the embedded API server; its full schema is not published).`,
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { allOf: [{ $ref: `#/components/schemas/${OBJECT_META}` }], default: {} },
      spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
    'x-kubernetes-group-version-kind': gvk,
  };
}

function pathsFor(resource: ResourceDefinition, schemaName: string): Json {
  const base = groupVersionPath(resource.group, resource.version);
  const collection = resource.namespaced
    ? `/${base}/namespaces/{namespace}/${resource.plural}`
    : `/${base}/${resource.plural}`;
  const gvk = { group: resource.group, version: resource.version, kind: resource.kind };
  const ref = { $ref: `#/components/schemas/${schemaName}` };
  const content = { 'application/json': { schema: ref } };
  const parameter = (name: string): Json => ({
    name,
    in: 'query',
    schema: { type: 'string', uniqueItems: true },
  });
  const writeParameters = [parameter('dryRun'), parameter('fieldManager'), parameter('fieldValidation')];
  const operation = (action: string, extra: Json = {}): Json => ({
    operationId: `${action}${resource.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
    responses: { '200': { description: 'OK', content } },
    ...extra,
  });
  return {
    [collection]: {
      get: operation('list'),
      post: operation('post', { parameters: writeParameters, requestBody: { content } }),
    },
    [`${collection}/{name}`]: {
      get: operation('get'),
      put: operation('put', { parameters: writeParameters, requestBody: { content } }),
      patch: operation('patch', {
        parameters: [...writeParameters, parameter('force')],
        requestBody: { content: { 'application/merge-patch+json': { schema: { type: 'object' } } } },
      }),
      delete: operation('delete'),
    },
  };
}

/** `/openapi/v3`: the index of group-version documents, each with a content hash. */
export function openApiIndex(registry: ResourceRegistry): Json {
  const paths: Json = {};
  const seen = new Set<string>();
  for (const resource of registry.all()) {
    const path = groupVersionPath(resource.group, resource.version);
    if (seen.has(path)) continue;
    seen.add(path);
    const hash = createHash('sha512')
      .update(JSON.stringify(openApiDocument(registry, resource.group, resource.version)))
      .digest('hex')
      .slice(0, 64)
      .toUpperCase();
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}

/** `/openapi/v3/<api|apis/group>/<version>`: schemas and paths of one group version. */
export function openApiDocument(
  registry: ResourceRegistry,
  groupName: string,
  version: string,
): Json | undefined {
  const resources = registry.all().filter((r) => r.group === groupName && r.version === version);
  if (resources.length === 0) return undefined;
  const schemas: Json = { [OBJECT_META]: OBJECT_META_SCHEMA };
  let paths: Json = {};
  for (const resource of resources) {
    const name = `${schemaPrefix(groupName, version)}.${resource.kind}`;
    if (schemas[name]) continue;
    schemas[name] = kindSchema(resource);
    paths = { ...paths, ...pathsFor(resource, name) };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes (keyless-deploy embedded API server)', version: SERVER_VERSION.gitVersion },
    paths,
    components: { schemas },
  };
}
