/**
 * The narrow Kubernetes interface the rest of the project talks to. Only `src/kube/` imports
 * `@kubernetes/client-node`; receiver, controller and tests depend on this interface, so tests can
 * drive them against the embedded API server or an in-memory double.
 */
import type { ObjectMeta } from '../api/types.js';

/** A REST resource: where its objects live. */
export interface ResourceType {
  /** API group; '' for the core group. */
  group: string;
  /** API version, e.g. `v1alpha1`. */
  version: string;
  /** Lower-case plural used in URLs, e.g. `deployrequests`. */
  plural: string;
  /** Kind of the objects, e.g. `DeployRequest`. */
  kind: string;
  /** Whether objects live in namespaces (false: cluster-scoped). */
  namespaced: boolean;
}

/** Any Kubernetes object. */
export interface KubeObject {
  /** `group/version` (or `version` for the core group); list answers may leave it out of items. */
  apiVersion?: string;
  /** The object's kind; list answers may leave it out of items, so code goes by the resource type. */
  kind?: string;
  /** Name, namespace, resourceVersion, labels, annotations, ... */
  metadata: ObjectMeta;
  /** `spec`, `status` and any other field, unchecked. */
  [field: string]: unknown;
}

/** One page of a list: the objects and the collection's resourceVersion. */
export interface ListResult<T extends KubeObject> {
  /** The objects that matched. */
  items: T[];
  /** Collection resourceVersion, to start a watch from. */
  resourceVersion: string;
}

/** What a watch event says happened to its object (BOOKMARK: only the resourceVersion moved). */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/** One watch event: what happened and the object as it is now (as it was, for DELETED). */
export interface WatchEvent<T extends KubeObject> {
  /** What happened. */
  type: WatchEventType;
  /** The object after the change. */
  object: T;
}

/** Which objects a list or watch returns. */
export interface ListOptions {
  /** Label selector, e.g. `keyless.dev/token-hash=abc`. */
  labelSelector?: string;
  /** Field selector, e.g. `involvedObject.name=web`. */
  fieldSelector?: string;
}

/** A watch's selectors, start point and server-side timeout. */
export interface WatchOptions extends ListOptions {
  /** Resume point; events after this version are delivered. */
  resourceVersion?: string;
  /** Server-side timeout of the watch request. */
  timeoutSeconds?: number;
}

/** JSON merge patch, JSON patch, strategic merge patch (built-in kinds), server-side apply. */
export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

/** Options of create, patch and replace. */
export interface WriteOptions {
  /** Field manager recorded in managedFields. */
  fieldManager?: string;
  /** `status` to write the status subresource. */
  subresource?: 'status';
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
}

/** A running watch; `stop()` ends it without calling `onClose` with an error. */
export interface WatchHandle {
  /** End the watch; `onClose` is not called. */
  stop(): void;
}

/**
 * Errors from the API server, carrying its `Status` object. `code` is the HTTP status
 * (404 not found, 409 conflict/already exists, 410 gone, 422 invalid, 5xx); `0` when the server
 * could not be reached at all.
 */
export class KubeApiError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly reason: string,
    readonly status?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

/** Is this error a Kubernetes API error with the given HTTP status code? */
export function isKubeError(error: unknown, code?: number): error is KubeApiError {
  return error instanceof KubeApiError && (code === undefined || error.code === code);
}

/**
 * The Kubernetes API as this project uses it. Every call throws {@link KubeApiError} for an answer
 * other than success (except `get` on 404 and `delete` of something already gone).
 */
export interface KubeClient {
  /** The object, or undefined when it does not exist (404). */
  get<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined>;
  /** The objects of a type in a namespace (all namespaces: undefined) matching the selectors. */
  list<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    options?: ListOptions,
  ): Promise<ListResult<T>>;
  /** Create; throws KubeApiError 409 (AlreadyExists) when the name is taken. */
  create<T extends KubeObject>(type: ResourceType, object: T, options?: WriteOptions): Promise<T>;
  /** Patch with an explicit patch type; `options.subresource = 'status'` patches status. */
  patch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    patchType: PatchType,
    options?: WriteOptions,
  ): Promise<T>;
  /** PUT the whole object (or its status with `subresource`); 409 when `metadata.resourceVersion` is stale. */
  replace<T extends KubeObject>(type: ResourceType, object: T, options?: WriteOptions): Promise<T>;
  /** Delete; resolves also when the object was already gone. */
  delete(type: ResourceType, namespace: string | undefined, name: string): Promise<void>;
  /**
   * Start a watch. Events arrive in order through `onEvent`; `onClose` is called once when the
   * stream ends, with the error if it ended badly (a KubeApiError 410 means: relist).
   */
  watch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    options: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
    onClose: (error?: Error) => void,
  ): Promise<WatchHandle>;
}
