/**
 * The semantics of the Kubernetes REST verbs over the object store, shared by the HTTP front end
 * and the in-process KubeClient: create (generateName, uid, generation, namespace must exist),
 * update and patch (resourceVersion preconditions, generation on spec changes only, status
 * subresource separation, finalizers), delete (deletionTimestamp while finalizers remain), list and
 * watch with selectors, dry run, and validation of custom resources by their CRD's schema.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { pageOf, type Page, type PageRequest } from './list-pages.js';
import { clone, type ObjectStore, type StoreEvent, type StoredObject } from './object-store.js';
import type { ResourceDefinition, ResourceRegistry } from './resource-registry.js';
import { fieldsOf, parseFieldSelector, parseLabelSelector, supportedFields } from './selectors.js';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  invalid,
  notFound,
  unsupportedMediaType,
  type StatusCause,
} from './status-error.js';
import { defaultBuiltin } from './builtin-defaults.js';
import { validateBuiltin } from './builtin-validation.js';
import { requireScale, scaleOf, scaleReplicas } from './scale-subresource.js';
import { recordStatusUpdate } from './status-managed-fields.js';
import {
  applyJsonPatch,
  applyMergePatch,
  applyServerSideApply,
  applyStrategicMergePatch,
  PatchError,
} from './patch/index.js';
import { prepareCustomResource, validateCrdDefinition } from './schema/index.js';
import { PLAYGROUND_ADMIN, type UserInfo } from './admission/user-info.js';
import type { Admission } from './admission/validating-admission.js';

/** Where a request points. */
export interface Scope {
  resource: ResourceDefinition;
  namespace?: string;
  name?: string;
  subresource?: 'status' | 'scale';
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  /**
   * The manager kube-apiserver records when `fieldManager` is not given: the client's user agent
   * product. Used for Update writes only (apply requires `fieldManager`).
   */
  userAgentManager?: string;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
  force?: boolean;
  /** Who writes (admission policies see it as `request.userInfo`); default the playground's admin. */
  user?: UserInfo;
}

/** The outcome of a write: the object and any warnings for `Warning` headers. */
export interface WriteResult {
  object: StoredObject;
  warnings: string[];
  created?: boolean;
}

export type PatchContentType = 'merge' | 'json' | 'strategic' | 'apply';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
}

/** A watch as the service delivers it: events already filtered and converted. */
export interface WatchSubscription {
  backlog: StoreEvent[];
  unsubscribe: () => void;
}

const MAX_NAME = 253;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GENERATE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Storage key of a resource: `group/plural` (all versions share one bucket, like etcd keys). */
export function resourceKey(resource: ResourceDefinition): string {
  return `${resource.group}/${resource.plural}`;
}

function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function apiVersionOf(resource: ResourceDefinition): string {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version;
}

function metadataOf(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = object.metadata;
  if (metadata === undefined || metadata === null) return {};
  if (typeof metadata !== 'object' || Array.isArray(metadata)) throw badRequest('metadata must be an object');
  return metadata as Record<string, unknown>;
}

/** Everything but metadata (and status when it is a subresource): changes here bump generation. */
function specPart(object: Record<string, unknown>, hasStatus: boolean): Record<string, unknown> {
  const { metadata: _metadata, status, ...rest } = object;
  return hasStatus ? rest : { ...rest, status };
}

/**
 * Built-in kinds whose objects have no `metadata.generation` (kube-apiserver's strategies for them
 * never set it: they have no spec whose changes a controller observes).
 */
const WITHOUT_GENERATION = new Set([
  'Namespace',
  'ConfigMap',
  'Secret',
  'Lease',
  'Event',
  'Service',
  'ServiceAccount',
  'Endpoints',
  'Role',
  'RoleBinding',
  'ClusterRole',
  'ClusterRoleBinding',
]);

/** Built-in kinds a PUT may create (their strategies' AllowCreateOnUpdate); others answer 404. */
const CREATE_ON_UPDATE = new Set(['Lease', 'Event', 'Endpoints', 'Service']);

function hasGeneration(resource: ResourceDefinition): boolean {
  return resource.crd !== undefined || !WITHOUT_GENERATION.has(resource.kind);
}

function isApps(resource: ResourceDefinition, ...kinds: string[]): boolean {
  return !resource.crd && resource.group === 'apps' && kinds.includes(resource.kind);
}

/** Deployments and ReplicaSets keep annotations written through their status subresource. */
function statusKeepsAnnotations(resource: ResourceDefinition): boolean {
  return isApps(resource, 'Deployment', 'ReplicaSet');
}

/**
 * A Deployment's generation also moves when its annotations change (the controller copies them
 * onto the ReplicaSet), as kube-apiserver's deployment strategy does.
 */
function annotationsBumpGeneration(resource: ResourceDefinition): boolean {
  return isApps(resource, 'Deployment');
}

/** The REST verbs over the store. */
export class ResourceService {
  constructor(
    private readonly store: ObjectStore,
    private readonly registry: ResourceRegistry,
    private readonly now: () => Date = () => new Date(),
    /** Validating admission, run after schema validation and before anything is stored or deleted. */
    private readonly admission?: Admission,
  ) {}

  /** The newest resourceVersion (for bookmarks). */
  currentRevision(): number {
    return this.store.revision;
  }

  /** GET one object. */
  get(scope: Scope): StoredObject {
    const object = this.store.peek(
      resourceKey(scope.resource),
      objectKey(scope.namespace, this.nameOf(scope)),
    );
    if (!object) throw this.notFound(scope);
    if (scope.subresource === 'scale') return scaleOf(object) as StoredObject;
    return this.present(scope.resource, object);
  }

  /** LIST objects (of a namespace, or all), filtered by selectors, one page at a time when asked. */
  list(scope: Scope, options: ListOptions & Partial<PageRequest> = {}): Page<StoredObject> {
    const matches = this.matcher(scope, options);
    const entries = this.store
      .select(resourceKey(scope.resource), matches)
      .map((object): [string, StoredObject] => [
        objectKey(object.metadata.namespace as string | undefined, object.metadata.name as string),
        object,
      ]);
    const page = pageOf(entries, this.store.revision, {
      ...options,
      filtered: Boolean(options.labelSelector || options.fieldSelector),
    });
    return { ...page, items: page.items.map((object) => this.presentListItem(scope.resource, object)) };
  }

  /** Subscribe to changes after `resourceVersion` ("" or "0": from now, after an initial ADDED of everything). */
  watch(
    scope: Scope,
    options: ListOptions & { resourceVersion?: string },
    onEvent: (event: StoreEvent) => void,
  ): WatchSubscription {
    const matches = this.matcher(scope, options);
    const key = resourceKey(scope.resource);
    const convert = (event: StoreEvent): StoreEvent => ({
      ...event,
      object: this.present(scope.resource, event.object),
    });
    const rv = options.resourceVersion;
    if (rv === undefined || rv === '' || rv === '0') {
      // Like the real server: synthetic ADDED events for the current state, then changes.
      const initial = this.store.select(key, matches).map((object) =>
        convert({
          type: 'ADDED',
          resource: key,
          revision: Number(object.metadata.resourceVersion),
          object,
        }),
      );
      const subscription = this.store.subscribe(this.store.revision, (event) => {
        if (event.resource === key && matches(event.object)) onEvent(convert(event));
      });
      return { backlog: initial, unsubscribe: subscription.unsubscribe };
    }
    const from = Number(rv);
    if (!Number.isSafeInteger(from) || from < 0) throw badRequest(`invalid resourceVersion "${rv}"`);
    const subscription = this.store.subscribe(from, (event) => {
      if (event.resource === key && matches(event.object)) onEvent(convert(event));
    });
    return {
      backlog: subscription.backlog
        .filter((event) => event.resource === key && matches(event.object))
        .map(convert),
      unsubscribe: subscription.unsubscribe,
    };
  }

  /** POST: create. */
  create(scope: Scope, body: unknown, options: WriteOptions = {}): WriteResult {
    const resource = scope.resource;
    const object = this.requireObject(body, resource);
    const metadata = metadataOf(object);
    object.metadata = metadata;
    if (resource.namespaced) {
      const namespace = (metadata.namespace as string | undefined) ?? scope.namespace;
      if (scope.namespace && metadata.namespace && metadata.namespace !== scope.namespace) {
        throw badRequest(
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      }
      if (!namespace) throw badRequest('a namespace is required for namespaced resources');
      metadata.namespace = namespace;
      this.requireNamespace(namespace);
    } else {
      delete metadata.namespace;
    }
    if (!metadata.name && typeof metadata.generateName === 'string' && metadata.generateName) {
      metadata.name = `${metadata.generateName}${this.randomSuffix()}`;
    }
    const name = metadata.name;
    if (typeof name !== 'string' || name === '') {
      throw invalid({ ...this.target(resource, ''), kind: resource.kind }, [
        {
          reason: 'FieldValueRequired',
          message: 'Required value: name or generateName is required',
          field: 'metadata.name',
        },
      ]);
    }
    this.validateName(resource, name);
    const key = objectKey(metadata.namespace as string | undefined, name);
    if (this.store.get(resourceKey(resource), key)) throw alreadyExists(this.target(resource, name));
    delete metadata.resourceVersion;
    delete metadata.deletionTimestamp;
    delete metadata.deletionGracePeriodSeconds;
    metadata.uid = randomUUID();
    metadata.creationTimestamp = this.timestamp();
    if (hasGeneration(resource)) metadata.generation = 1;
    else delete metadata.generation;
    const manager = options.fieldManager ?? options.userAgentManager;
    if (manager) this.recordManager(metadata, manager, 'Update', apiVersionOf(resource));
    if (resource.hasStatus && resource.crd) delete object.status;
    if (resource.hasStatus && !resource.crd && resource.kind !== 'Namespace') object.status = {};
    const warnings = this.validateAndDefault(resource, object, undefined, options);
    this.postCreateHooks(resource, object);
    warnings.push(...this.admit('CREATE', scope, object, undefined, options));
    if (options.dryRun)
      return { object: this.present(resource, object as StoredObject), warnings, created: true };
    const stored = this.store.put(resourceKey(resource), key, object as StoredObject);
    this.afterWrite(resource, stored);
    return { object: this.present(resource, stored), warnings, created: true };
  }

  /** PUT: replace the object, or its status with `scope.subresource = 'status'`. */
  update(scope: Scope, body: unknown, options: WriteOptions = {}): WriteResult {
    const resource = scope.resource;
    if (scope.subresource === 'scale') {
      const old = this.store.get(resourceKey(resource), objectKey(scope.namespace, this.nameOf(scope)));
      if (!old) throw this.notFound(scope);
      return this.writeScale(scope, old, requireScale(body), options);
    }
    const candidate = this.requireObject(body, resource);
    const metadata = metadataOf(candidate);
    const name = this.nameOf(scope);
    if (metadata.name !== undefined && metadata.name !== name) {
      throw badRequest(
        `the name of the object (${String(metadata.name)}) does not match the name on the URL (${name})`,
      );
    }
    const old = this.store.get(resourceKey(resource), objectKey(scope.namespace, name));
    if (!old) {
      // PUT creates a missing object only for kinds whose strategy allows it (AllowCreateOnUpdate).
      if (scope.subresource || !CREATE_ON_UPDATE.has(resource.kind) || resource.crd)
        throw this.notFound(scope);
      return this.create({ ...scope, name }, { ...candidate, metadata: { ...metadata, name } }, options);
    }
    const rv = metadata.resourceVersion;
    // Custom resources allow no unconditional update (kube-apiserver's strategy for them).
    if (resource.crd && (rv === undefined || rv === ''))
      throw invalid({ ...this.target(resource, name), kind: resource.plural }, [
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: 0: must be specified for an update',
          field: 'metadata.resourceVersion',
        },
      ]);
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion)
      throw conflict(this.target(resource, name));
    return this.commit(scope, old, candidate, options);
  }

  /** PATCH with the given patch type; `apply` creates when missing. */
  patch(scope: Scope, patchType: PatchContentType, rawBody: string, options: WriteOptions = {}): WriteResult {
    const resource = scope.resource;
    const name = this.nameOf(scope);
    if (patchType === 'strategic' && resource.crd)
      throw unsupportedMediaType('application/strategic-merge-patch+json');
    if (patchType === 'apply' && scope.subresource === 'scale')
      throw unsupportedMediaType('application/apply-patch+yaml');
    const old = this.store.get(resourceKey(resource), objectKey(scope.namespace, name));
    let patchBody: unknown;
    try {
      patchBody = patchType === 'apply' ? parseYaml(rawBody, { maxAliasCount: 100 }) : JSON.parse(rawBody);
    } catch (error) {
      throw badRequest(`error decoding patch: ${(error as Error).message}`);
    }
    if (patchType === 'apply') {
      if (!options.fieldManager)
        throw invalid({ name: '', group: 'meta.k8s.io', plural: 'patchoptions', kind: 'PatchOptions' }, [
          {
            reason: 'FieldValueRequired',
            message: 'Required value: is required for apply patch',
            field: 'fieldManager',
          },
        ]);
      const applied = this.requireObject(patchBody, resource);
      if (applied.apiVersion === undefined || applied.kind === undefined)
        throw badRequest('error decoding patch: an applied object needs apiVersion and kind');
      const appliedMeta = metadataOf(applied);
      if (appliedMeta.name !== undefined && appliedMeta.name !== name) {
        throw badRequest(
          `the name of the object (${String(appliedMeta.name)}) does not match the name on the URL (${name})`,
        );
      }
      const gvk = { group: resource.group, version: resource.version, kind: resource.kind };
      const result = this.runPatch(() =>
        applyServerSideApply(old ? this.present(resource, old) : undefined, applied, {
          manager: options.fieldManager as string,
          force: options.force ?? false,
          gvk,
          now: this.timestamp(),
        }),
      );
      if (result.conflicts.length > 0) {
        const causes: StatusCause[] = result.conflicts.map((c) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with "${c.manager}": ${c.field}`,
          field: c.field,
        }));
        throw new ApiError(
          409,
          'Conflict',
          `Apply failed with ${causes.length} conflict${causes.length > 1 ? 's' : ''}: ${causes.map((c) => c.message).join('; ')}`,
          {
            name,
            group: resource.group || undefined,
            kind: resource.plural,
            causes,
          },
        );
      }
      if (!old)
        return this.create(
          { ...scope, name },
          { ...result.object, metadata: { ...metadataOf(result.object), name } },
          { ...options, fieldManager: undefined, userAgentManager: undefined },
        );
      return this.commit(
        scope,
        old,
        result.object,
        { ...options, fieldManager: undefined, userAgentManager: undefined },
        true,
      );
    }
    if (!old) throw this.notFound(scope);
    const scale = scope.subresource === 'scale';
    const current = scale ? (scaleOf(old) as StoredObject) : this.present(resource, old);
    const gvk = scale
      ? { group: 'autoscaling', version: 'v1', kind: 'Scale' }
      : { group: resource.group, version: resource.version, kind: resource.kind };
    const patched = this.runPatch(() => {
      switch (patchType) {
        case 'merge':
          return applyMergePatch(current, patchBody);
        case 'json':
          return applyJsonPatch(current, patchBody);
        case 'strategic':
          return applyStrategicMergePatch(current, patchBody, gvk);
      }
    });
    if (scale) return this.writeScale(scope, old, requireScale(patched), options);
    const candidate = this.requireObject(patched, resource);
    const rv = metadataOf(candidate).resourceVersion;
    if (rv !== undefined && rv !== old.metadata.resourceVersion) throw conflict(this.target(resource, name));
    return this.commit(scope, old, candidate, options);
  }

  /** DELETE: removes, or marks for deletion while finalizers remain. */
  delete(
    scope: Scope,
    options: {
      dryRun?: boolean;
      preconditions?: { uid?: string; resourceVersion?: string };
      user?: UserInfo;
    } = {},
  ): StoredObject {
    const resource = scope.resource;
    const name = this.nameOf(scope);
    const key = objectKey(scope.namespace, name);
    const old = this.store.get(resourceKey(resource), key);
    if (!old) throw this.notFound(scope);
    const pre = options.preconditions ?? {};
    const mismatch =
      pre.uid && pre.uid !== old.metadata.uid
        ? `the UID in the precondition (${pre.uid}) does not match the UID in record (${String(old.metadata.uid)}). The object might have been deleted and then recreated`
        : pre.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion
          ? `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${String(old.metadata.resourceVersion)}). The object might have been modified`
          : undefined;
    if (mismatch) {
      // kube-apiserver names the kind here, not the resource.
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource.kind} "${name}": ${mismatch}`,
        {
          name,
          group: resource.group || undefined,
          kind: resource.kind,
        },
      );
    }
    const finalizers = (old.metadata.finalizers as string[] | undefined) ?? [];
    this.admit('DELETE', scope, undefined, old, options);
    if (options.dryRun) return this.present(resource, old);
    if (finalizers.length > 0) {
      if (old.metadata.deletionTimestamp) return this.present(resource, old);
      const marked = clone(old);
      marked.metadata.deletionTimestamp = this.timestamp();
      marked.metadata.deletionGracePeriodSeconds = 0;
      return this.present(resource, this.store.put(resourceKey(resource), key, marked));
    }
    const removed = this.store.remove(resourceKey(resource), key) as StoredObject;
    this.afterDelete(resource, removed);
    return this.present(resource, removed);
  }

  /**
   * A Scale written back (PUT or PATCH of `/scale`): its replicas go to `spec.replicas` of the
   * parent, with the Scale's uid and resourceVersion as preconditions; the answer is the new Scale.
   */
  private writeScale(
    scope: Scope,
    old: StoredObject,
    scale: Record<string, unknown>,
    options: WriteOptions,
  ): WriteResult {
    const resource = scope.resource;
    const name = old.metadata.name as string;
    const metadata = metadataOf(scale);
    if (metadata.name !== undefined && metadata.name !== name) {
      throw badRequest(
        `the name of the object (${String(metadata.name)}) does not match the name on the URL (${name})`,
      );
    }
    const { replicas, causes } = scaleReplicas(scale);
    if (causes.length > 0)
      throw invalid({ group: 'autoscaling', plural: 'scales', kind: 'Scale', name }, causes);
    if (metadata.uid !== undefined && metadata.uid !== '' && metadata.uid !== old.metadata.uid) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${resource.plural}/scale.${resource.group} "${name}": Precondition failed: UID in precondition: ${String(metadata.uid)}, UID in object meta: ${String(old.metadata.uid)}`,
        { name, group: resource.group, kind: `${resource.plural}/scale` },
      );
    }
    const rv = metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion)
      throw conflict(this.target(resource, name));
    const next = clone(old);
    next.spec = { ...((old.spec ?? {}) as Record<string, unknown>), replicas };
    const result = this.commit({ ...scope, subresource: undefined }, old, next, options, false, 'scale');
    return { ...result, object: scaleOf(result.object) as StoredObject };
  }

  /** The common end of update and patch. */
  private commit(
    scope: Scope,
    old: StoredObject,
    candidate: Record<string, unknown>,
    options: WriteOptions,
    /** A server-side apply: a change of field ownership alone is a write (as on a real server). */
    applied = false,
    /** The subresource a write came through, when the scope no longer says so (`/scale`). */
    through: string | undefined = scope.subresource,
  ): WriteResult {
    const resource = scope.resource;
    const name = old.metadata.name as string;
    let next: Record<string, unknown>;
    if (scope.subresource === 'status') {
      // The status endpoint changes status only; everything else stays as stored...
      next = { ...clone(old), status: candidate.status };
      if (candidate.status === undefined) delete next.status;
      // ...except annotations of Deployments and ReplicaSets, whose status strategy resets only
      // spec and labels (the deployment controller writes its revision annotation this way).
      const annotations = metadataOf(candidate).annotations;
      if (statusKeepsAnnotations(resource) && annotations !== undefined)
        (next.metadata as Record<string, unknown>).annotations = annotations;
      const manager = options.fieldManager ?? options.userAgentManager;
      if (manager)
        recordStatusUpdate(
          next.metadata as Record<string, unknown>,
          manager,
          apiVersionOf(resource),
          this.timestamp(),
          old.status,
          next.status,
        );
    } else {
      next = candidate;
      const metadata = metadataOf(next);
      next.metadata = metadata;
      if (resource.hasStatus) {
        if (old.status === undefined) delete next.status;
        else next.status = clone(old.status);
      }
      // Server-owned metadata is kept from the stored object.
      for (const field of [
        'uid',
        'creationTimestamp',
        'name',
        'namespace',
        'generation',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
      ] as const) {
        if (old.metadata[field] === undefined) delete metadata[field];
        else metadata[field] = old.metadata[field];
      }
      if (!metadata.managedFields && old.metadata.managedFields)
        metadata.managedFields = old.metadata.managedFields;
      const manager = options.fieldManager ?? options.userAgentManager;
      if (manager) this.recordManager(metadata, manager, 'Update', apiVersionOf(resource), through);
    }
    (next.metadata as Record<string, unknown>).resourceVersion = old.metadata.resourceVersion;
    if (next.apiVersion === undefined) next.apiVersion = apiVersionOf(resource);
    if (next.kind === undefined) next.kind = resource.kind;
    const warnings = this.validateAndDefault(resource, next, old, options);
    warnings.push(...this.admit('UPDATE', scope, next, old, options));
    if (
      hasGeneration(resource) &&
      scope.subresource !== 'status' &&
      (!isDeepStrictEqual(specPart(next, resource.hasStatus), specPart(old, resource.hasStatus)) ||
        (annotationsBumpGeneration(resource) &&
          !isDeepStrictEqual(
            (next.metadata as Record<string, unknown>).annotations ?? {},
            old.metadata.annotations ?? {},
          )))
    ) {
      (next.metadata as Record<string, unknown>).generation = Number(old.metadata.generation ?? 1) + 1;
    }
    const key = objectKey(old.metadata.namespace as string | undefined, name);
    const nextMeta = next.metadata as Record<string, unknown>;
    const finalizers = (nextMeta.finalizers as string[] | undefined) ?? [];
    if (options.dryRun) return { object: this.present(resource, next as StoredObject), warnings };
    if (nextMeta.deletionTimestamp && finalizers.length === 0) {
      const removed = this.store.remove(resourceKey(resource), key) as StoredObject;
      this.afterDelete(resource, removed);
      return { object: this.present(resource, removed), warnings };
    }
    if (isDeepStrictEqual(this.withoutRv(next, applied), this.withoutRv(old, applied))) {
      // A no-op write does not create a new revision, like the real server.
      return { object: this.present(resource, old), warnings };
    }
    this.postCreateHooks(resource, next);
    const stored = this.store.put(resourceKey(resource), key, next as StoredObject);
    this.afterWrite(resource, stored);
    return { object: this.present(resource, stored), warnings };
  }

  /** Run validating admission for a write; returns its warnings, throws its refusal. */
  private admit(
    operation: 'CREATE' | 'UPDATE' | 'DELETE',
    scope: Scope,
    object: Record<string, unknown> | undefined,
    old: StoredObject | undefined,
    options: { dryRun?: boolean; user?: UserInfo },
  ): string[] {
    if (!this.admission) return [];
    const { resource } = scope;
    const metadata = (object ?? old)?.metadata as Record<string, unknown> | undefined;
    const namespace = resource.namespaced ? (metadata?.namespace as string | undefined) : undefined;
    const namespaces = this.registry.find('', 'v1', 'namespaces') as ResourceDefinition;
    const namespaceObject = namespace ? this.store.peek(resourceKey(namespaces), namespace) : undefined;
    return this.admission({
      operation,
      resource,
      subresource: scope.subresource,
      namespace,
      name: String(metadata?.name ?? ''),
      object: object ? this.present(resource, object) : undefined,
      oldObject: old ? this.present(resource, old) : undefined,
      namespaceObject: namespaceObject ? this.present(namespaces, namespaceObject) : undefined,
      user: options.user ?? PLAYGROUND_ADMIN,
      dryRun: options.dryRun ?? false,
    });
  }

  /**
   * The object as the no-op check compares it: without resourceVersion, and without managedFields
   * unless ownership counts (an apply), then without their times.
   */
  private withoutRv(object: Record<string, unknown>, owners = false): Record<string, unknown> {
    const copy = clone(object);
    const metadata = copy.metadata as Record<string, unknown>;
    delete metadata.resourceVersion;
    if (!owners || !Array.isArray(metadata.managedFields)) delete metadata.managedFields;
    else
      metadata.managedFields = (metadata.managedFields as Array<Record<string, unknown>>).map(
        ({ time: _time, ...entry }) => entry,
      );
    return copy;
  }

  /** Schema validation (custom resources) or built-in checks; returns warnings. */
  private validateAndDefault(
    resource: ResourceDefinition,
    object: Record<string, unknown>,
    old: StoredObject | undefined,
    options: WriteOptions,
  ): string[] {
    const name = String((object.metadata as Record<string, unknown>).name ?? '');
    const causes: StatusCause[] = [...this.validateMetadata(object.metadata as Record<string, unknown>)];
    const warnings: string[] = [];
    if (resource.crd && resource.schema) {
      const result = prepareCustomResource(resource.schema, object, old, {
        fieldValidation: options.fieldValidation ?? 'Ignore',
      });
      if (result.unknownFields.length > 0 && options.fieldValidation === 'Strict') {
        throw badRequest(
          result.unknownFields.map((field) => `strict decoding error: unknown field "${field}"`).join(', '),
        );
      }
      if (result.unknownFields.length > 0 && options.fieldValidation === 'Warn') {
        warnings.push(...result.unknownFields.map((field) => `unknown field "${field}"`));
      }
      warnings.push(...result.warnings);
      causes.push(...result.causes);
      for (const key of Object.keys(object)) delete object[key];
      Object.assign(object, result.object);
    } else if (resource.kind === 'CustomResourceDefinition') {
      causes.push(...validateCrdDefinition(object));
      const spec = (object.spec ?? {}) as { group?: string; names?: { plural?: string } };
      if (spec.group && spec.names?.plural && name !== `${spec.names.plural}.${spec.group}`) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${name}": must be spec.names.plural+"."+spec.group`,
          field: 'metadata.name',
        });
      }
    } else {
      defaultBuiltin(resource, object, old === undefined);
      causes.push(...validateBuiltin(resource, object));
    }
    if (causes.length > 0) throw invalid({ ...this.target(resource, name), kind: resource.kind }, causes);
    return warnings;
  }

  private validateMetadata(metadata: Record<string, unknown>): StatusCause[] {
    const causes: StatusCause[] = [];
    for (const field of ['labels', 'annotations'] as const) {
      const value = metadata[field];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value)) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: 'Invalid value: must be a map of strings',
          field: `metadata.${field}`,
        });
        continue;
      }
      for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
        if (typeof entry !== 'string') {
          causes.push({
            reason: 'FieldValueInvalid',
            message: `Invalid value: must be a string`,
            field: `metadata.${field}.${key}`,
          });
        } else if (
          field === 'labels' &&
          (entry.length > 63 || (entry !== '' && !/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(entry)))
        ) {
          causes.push({
            reason: 'FieldValueInvalid',
            message: `Invalid value: "${entry}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
            field: `metadata.labels`,
          });
        }
      }
      if (field === 'annotations' && JSON.stringify(value).length > 256 * 1024) {
        causes.push({
          reason: 'FieldValueTooLong',
          message: 'Too long: must have at most 262144 bytes',
          field: 'metadata.annotations',
        });
      }
    }
    return causes;
  }

  private validateName(resource: ResourceDefinition, name: string): void {
    const label = resource.kind === 'Namespace' || resource.kind === 'Service';
    const ok = label
      ? name.length <= 63 && DNS_LABEL.test(name)
      : name.length <= MAX_NAME && DNS_SUBDOMAIN.test(name);
    if (!ok) {
      const rule = label
        ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
        : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
      throw invalid({ ...this.target(resource, name), kind: resource.kind }, [
        { reason: 'FieldValueInvalid', message: `Invalid value: "${name}": ${rule}`, field: 'metadata.name' },
      ]);
    }
  }

  private runPatch<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof PatchError) {
        throw new ApiError(error.code, error.code === 422 ? 'Invalid' : 'BadRequest', error.message);
      }
      throw error;
    }
  }

  /** Server-side effects of storing certain kinds (CRD status, namespace phase). */
  private postCreateHooks(resource: ResourceDefinition, object: Record<string, unknown>): void {
    if (resource.kind === 'Namespace' && resource.group === '') {
      const status = (object.status ?? {}) as Record<string, unknown>;
      object.status = {
        ...status,
        phase: (object.metadata as Record<string, unknown>).deletionTimestamp ? 'Terminating' : 'Active',
      };
      const spec = (object.spec ?? {}) as Record<string, unknown>;
      object.spec = { finalizers: ['kubernetes'], ...spec };
    }
    if (resource.kind === 'CustomResourceDefinition') {
      const spec = object.spec as {
        names: Record<string, unknown>;
        versions: Array<{ name: string; storage?: boolean }>;
      };
      const time = this.timestamp();
      const previous = ((object.status as Record<string, unknown> | undefined)?.conditions ?? []) as Array<
        Record<string, unknown>
      >;
      const condition = (type: string, reason: string, message: string): Record<string, unknown> => {
        const before = previous.find((c) => c.type === type);
        return {
          type,
          status: 'True',
          reason,
          message,
          lastTransitionTime: before?.status === 'True' ? before.lastTransitionTime : time,
        };
      };
      object.status = {
        conditions: [
          condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
          condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
        ],
        acceptedNames: spec.names,
        storedVersions: spec.versions.filter((v) => v.storage).map((v) => v.name),
      };
    }
  }

  private afterWrite(resource: ResourceDefinition, stored: StoredObject): void {
    if (resource.kind === 'CustomResourceDefinition' && resource.group === 'apiextensions.k8s.io') {
      this.registry.registerCrd(stored);
    }
  }

  private afterDelete(resource: ResourceDefinition, removed: StoredObject): void {
    if (resource.kind === 'CustomResourceDefinition' && resource.group === 'apiextensions.k8s.io') {
      const spec = removed.spec as { group: string; names: { plural: string } };
      const key = `${spec.group}/${spec.names.plural}`;
      for (const object of this.store.list(key)) {
        this.store.remove(
          key,
          objectKey(object.metadata.namespace as string | undefined, object.metadata.name as string),
        );
      }
      this.registry.unregisterCrd(removed.metadata.name as string);
    }
    if (resource.kind === 'Namespace' && resource.group === '') {
      // The namespace controller's job, done at once: everything in the namespace goes with it.
      const namespace = removed.metadata.name as string;
      for (const other of this.registry.all()) {
        if (!other.namespaced) continue;
        const key = resourceKey(other);
        for (const object of this.store.list(key)) {
          if (object.metadata.namespace === namespace)
            this.store.remove(key, objectKey(namespace, object.metadata.name as string));
        }
      }
    }
  }

  private recordManager(
    metadata: Record<string, unknown>,
    manager: string,
    operation: 'Update' | 'Apply',
    apiVersion: string,
    /** Writes through `/status` or `/scale` are recorded as that subresource's, as on a real server. */
    subresource?: string,
  ): void {
    const entries = ((metadata.managedFields as Array<Record<string, unknown>> | undefined) ?? []).filter(
      (entry) =>
        !(entry.manager === manager && entry.operation === operation && entry.subresource === subresource),
    );
    entries.push({
      manager,
      operation,
      apiVersion,
      time: this.timestamp(),
      fieldsType: 'FieldsV1',
      fieldsV1: {},
      ...(subresource ? { subresource } : {}),
    });
    metadata.managedFields = entries;
  }

  private matcher(scope: Scope, options: ListOptions): (object: StoredObject) => boolean {
    const labels = parseLabelSelector(options.labelSelector);
    const fields = parseFieldSelector(options.fieldSelector, supportedFields(scope.resource.kind));
    return (object) =>
      (!scope.resource.namespaced ||
        scope.namespace === undefined ||
        object.metadata.namespace === scope.namespace) &&
      labels((object.metadata.labels ?? {}) as Record<string, string>) &&
      fields(fieldsOf(object));
  }

  /**
   * A list item as the real server serves it: items of built-in kinds carry no `kind` or
   * `apiVersion` (only the list does; kube-apiserver encodes the typed list, whose items have an
   * empty TypeMeta), while custom resources keep both (they are stored and served as unstructured
   * JSON). Watch events, GET and write answers carry them for every kind.
   */
  private presentListItem(resource: ResourceDefinition, object: Record<string, unknown>): StoredObject {
    const copy = this.present(resource, object);
    if (!resource.crd) {
      delete copy.kind;
      delete copy.apiVersion;
    }
    return copy;
  }

  /** The object as served at this resource's version. */
  private present(resource: ResourceDefinition, object: Record<string, unknown>): StoredObject {
    const copy = clone(object) as StoredObject;
    copy.apiVersion = apiVersionOf(resource);
    copy.kind = resource.kind;
    return copy;
  }

  private requireObject(body: unknown, resource: ResourceDefinition): Record<string, unknown> {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw badRequest('the request body must be a JSON object');
    }
    const object = clone(body as Record<string, unknown>);
    if (object.kind !== undefined && object.kind !== resource.kind) {
      throw badRequest(
        `the kind of the object (${String(object.kind)}) does not match the resource (${resource.kind})`,
      );
    }
    if (object.apiVersion !== undefined && object.apiVersion !== apiVersionOf(resource)) {
      throw badRequest(
        `the API version in the data (${String(object.apiVersion)}) does not match the expected API version (${apiVersionOf(resource)})`,
      );
    }
    object.apiVersion = apiVersionOf(resource);
    object.kind = resource.kind;
    return object;
  }

  private requireNamespace(namespace: string): void {
    const namespaces = this.registry.find('', 'v1', 'namespaces') as ResourceDefinition;
    const stored = this.store.get(resourceKey(namespaces), namespace);
    if (!stored) throw notFound({ group: '', plural: 'namespaces', name: namespace });
    if (stored.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  private nameOf(scope: Scope): string {
    if (!scope.name) throw badRequest('a resource name is required');
    return scope.name;
  }

  private notFound(scope: Scope): ApiError {
    return notFound(this.target(scope.resource, scope.name ?? ''));
  }

  private target(
    resource: ResourceDefinition,
    name: string,
  ): { group: string; plural: string; kind: string; name: string } {
    return { group: resource.group, plural: resource.plural, kind: resource.kind, name };
  }

  private timestamp(): string {
    return this.now()
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z');
  }

  private randomSuffix(): string {
    const bytes = randomBytes(5);
    return [...bytes].map((byte) => GENERATE_ALPHABET[byte % GENERATE_ALPHABET.length]).join('');
  }
}
