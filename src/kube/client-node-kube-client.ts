/**
 * The one adapter that owns `@kubernetes/client-node`: it implements {@link KubeClient} with
 * client-node's CustomObjectsApi (every named group, including apps/v1 and coordination.k8s.io,
 * with status subresources), KubernetesObjectApi (the core group) and Watch. Nothing else in the
 * project imports client-node.
 */
import {
  ApiException,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import {
  KubeApiError,
  type KubeClient,
  type KubeObject,
  type ListOptions,
  type ListResult,
  type PatchType,
  type ResourceType,
  type WatchEvent,
  type WatchHandle,
  type WatchOptions,
  type WriteOptions,
} from './kube-client.js';
import { apiVersionOf } from './resource-types.js';
import { createHash } from 'node:crypto';

const CONTENT_TYPES: Record<PatchType, string> = {
  merge: PatchStrategy.MergePatch,
  json: PatchStrategy.JsonPatch,
  strategic: PatchStrategy.StrategicMergePatch,
  apply: PatchStrategy.ServerSideApply,
};

/** Turn whatever client-node threw into a KubeApiError carrying the API server's Status. */
export function toKubeApiError(error: unknown): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (error instanceof ApiException) {
    let status: Record<string, unknown> | undefined;
    const body: unknown = error.body;
    if (typeof body === 'string') {
      try {
        status = JSON.parse(body) as Record<string, unknown>;
      } catch {
        status = undefined;
      }
    } else if (body && typeof body === 'object') {
      status = body as Record<string, unknown>;
    }
    const message = typeof status?.message === 'string' ? status.message : `HTTP ${error.code}`;
    const reason = typeof status?.reason === 'string' ? status.reason : 'Unknown';
    return new KubeApiError(message, error.code, reason, status);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new KubeApiError(`cannot reach the Kubernetes API: ${message}`, 0, 'ConnectionFailed');
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toKubeApiError(error);
  }
}

function collectionPath(type: ResourceType, namespace: string | undefined): string {
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  return type.namespaced && namespace
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${type.plural}`
    : `${base}/${type.plural}`;
}

type DispatcherFactory = (cluster: unknown, agentOptions: Record<string, unknown>) => unknown;

/**
 * client-node 2.0 builds a new undici Agent for every request (in `applySecurityAuthentication`),
 * so no connection is ever reused: each API call pays a TCP connect and, against a real API server,
 * a TLS handshake. Reuse one dispatcher per distinct set of connection options instead (a rotated
 * CA or client certificate makes a new one). The private method is patched on this instance only;
 * `test/kube/client-node-adapter.test.ts` proves connections are reused.
 */
function reuseConnections(config: KubeConfig): void {
  const target = config as unknown as { createDispatcher?: DispatcherFactory };
  const create = target.createDispatcher?.bind(config);
  if (!create) return;
  const cache = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = createHash('sha256')
      .update(JSON.stringify([cluster, agentOptions]))
      .digest('hex');
    if (!cache.has(key)) cache.set(key, create(cluster, agentOptions));
    return cache.get(key);
  };
}

/** Make a KubeClient over a loaded KubeConfig. */
export function createClientNodeKubeClient(config: KubeConfig): KubeClient {
  reuseConnections(config);
  const custom = config.makeApiClient(CustomObjectsApi);
  const objects = KubernetesObjectApi.makeApiClient(config);
  const watcher = new Watch(config);

  const coreSpec = (
    type: ResourceType,
    namespace: string | undefined,
    name: string,
  ): KubernetesObject & { metadata: { name: string; namespace?: string } } => ({
    apiVersion: apiVersionOf(type),
    kind: type.kind,
    metadata: { name, ...(type.namespaced && namespace ? { namespace } : {}) },
  });

  return {
    async get<T extends KubeObject>(
      type: ResourceType,
      namespace: string | undefined,
      name: string,
    ): Promise<T | undefined> {
      try {
        if (type.group === '')
          return (await call(() => objects.read(coreSpec(type, namespace, name)))) as unknown as T;
        const request = { group: type.group, version: type.version, plural: type.plural, name };
        const result = type.namespaced
          ? await call(() => custom.getNamespacedCustomObject({ ...request, namespace: namespace ?? '' }))
          : await call(() => custom.getClusterCustomObject(request));
        return result as T;
      } catch (error) {
        if (error instanceof KubeApiError && error.code === 404) return undefined;
        throw error;
      }
    },

    async list<T extends KubeObject>(
      type: ResourceType,
      namespace: string | undefined,
      options: ListOptions = {},
    ): Promise<ListResult<T>> {
      let result: { items?: unknown[]; metadata?: { resourceVersion?: string } };
      if (type.group === '') {
        result = await call(() =>
          objects.list(
            apiVersionOf(type),
            type.kind,
            namespace,
            undefined,
            undefined,
            undefined,
            options.fieldSelector,
            options.labelSelector,
          ),
        );
      } else {
        const request = {
          group: type.group,
          version: type.version,
          plural: type.plural,
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
        };
        result =
          type.namespaced && namespace
            ? await call(() => custom.listNamespacedCustomObject({ ...request, namespace }))
            : await call(() => custom.listClusterCustomObject(request));
      }
      return { items: (result.items ?? []) as T[], resourceVersion: result.metadata?.resourceVersion ?? '' };
    },

    async create<T extends KubeObject>(
      type: ResourceType,
      object: T,
      options: WriteOptions = {},
    ): Promise<T> {
      // The object's own apiVersion/kind win, so a mismatch reaches the API server and is refused there.
      const body = { apiVersion: apiVersionOf(type), kind: type.kind, ...object };
      if (type.group === '') {
        return (await call(() =>
          objects.create(body as KubernetesObject, undefined, undefined, options.fieldManager),
        )) as unknown as T;
      }
      const request = {
        group: type.group,
        version: type.version,
        plural: type.plural,
        body,
        fieldManager: options.fieldManager,
      };
      const result = type.namespaced
        ? await call(() =>
            custom.createNamespacedCustomObject({ ...request, namespace: object.metadata.namespace ?? '' }),
          )
        : await call(() => custom.createClusterCustomObject(request));
      return result as T;
    },

    async patch<T extends KubeObject>(
      type: ResourceType,
      namespace: string | undefined,
      name: string,
      patch: unknown,
      patchType: PatchType,
      options: WriteOptions = {},
    ): Promise<T> {
      const headers = setHeaderOptions('Content-Type', CONTENT_TYPES[patchType]);
      if (type.group === '') {
        if (options.subresource)
          throw new KubeApiError(
            'status subresource writes are not supported for core kinds by this adapter',
            400,
            'BadRequest',
          );
        const spec = { ...coreSpec(type, namespace, name), ...(patch as object) } as KubernetesObject;
        return (await call(() =>
          objects.patch(
            spec,
            undefined,
            undefined,
            options.fieldManager,
            options.force,
            CONTENT_TYPES[patchType] as PatchStrategy,
          ),
        )) as unknown as T;
      }
      const request = {
        group: type.group,
        version: type.version,
        plural: type.plural,
        name,
        body: patch as object,
        fieldManager: options.fieldManager,
        force: options.force,
      };
      const ns = namespace ?? '';
      let result: unknown;
      if (options.subresource === 'status') {
        result = type.namespaced
          ? await call(() => custom.patchNamespacedCustomObjectStatus({ ...request, namespace: ns }, headers))
          : await call(() => custom.patchClusterCustomObjectStatus(request, headers));
      } else {
        result = type.namespaced
          ? await call(() => custom.patchNamespacedCustomObject({ ...request, namespace: ns }, headers))
          : await call(() => custom.patchClusterCustomObject(request, headers));
      }
      return result as T;
    },

    async replace<T extends KubeObject>(
      type: ResourceType,
      object: T,
      options: WriteOptions = {},
    ): Promise<T> {
      // The object's own apiVersion/kind win, so a mismatch reaches the API server and is refused there.
      const body = { apiVersion: apiVersionOf(type), kind: type.kind, ...object };
      const name = object.metadata.name ?? '';
      if (type.group === '') {
        if (options.subresource)
          throw new KubeApiError(
            'status subresource writes are not supported for core kinds by this adapter',
            400,
            'BadRequest',
          );
        return (await call(() =>
          objects.replace(body as KubernetesObject, undefined, undefined, options.fieldManager),
        )) as unknown as T;
      }
      const request = {
        group: type.group,
        version: type.version,
        plural: type.plural,
        name,
        body,
        fieldManager: options.fieldManager,
      };
      const ns = object.metadata.namespace ?? '';
      let result: unknown;
      if (options.subresource === 'status') {
        result = type.namespaced
          ? await call(() => custom.replaceNamespacedCustomObjectStatus({ ...request, namespace: ns }))
          : await call(() => custom.replaceClusterCustomObjectStatus(request));
      } else {
        result = type.namespaced
          ? await call(() => custom.replaceNamespacedCustomObject({ ...request, namespace: ns }))
          : await call(() => custom.replaceClusterCustomObject(request));
      }
      return result as T;
    },

    async delete(type: ResourceType, namespace: string | undefined, name: string): Promise<void> {
      try {
        if (type.group === '') {
          await call(() => objects.delete(coreSpec(type, namespace, name)));
          return;
        }
        const request = { group: type.group, version: type.version, plural: type.plural, name };
        if (type.namespaced)
          await call(() => custom.deleteNamespacedCustomObject({ ...request, namespace: namespace ?? '' }));
        else await call(() => custom.deleteClusterCustomObject(request));
      } catch (error) {
        if (error instanceof KubeApiError && error.code === 404) return;
        throw error;
      }
    },

    async watch<T extends KubeObject>(
      type: ResourceType,
      namespace: string | undefined,
      options: WatchOptions,
      onEvent: (event: WatchEvent<T>) => void,
      onClose: (error?: Error) => void,
    ): Promise<WatchHandle> {
      let stopped = false;
      let closed = false;
      const close = (error?: Error): void => {
        if (closed || stopped) return;
        closed = true;
        onClose(error);
      };
      const query: Record<string, string | number | boolean> = { allowWatchBookmarks: true };
      if (options.resourceVersion) query.resourceVersion = options.resourceVersion;
      if (options.labelSelector) query.labelSelector = options.labelSelector;
      if (options.fieldSelector) query.fieldSelector = options.fieldSelector;
      if (options.timeoutSeconds) query.timeoutSeconds = options.timeoutSeconds;
      let controller: AbortController | undefined;
      try {
        controller = await watcher.watch(
          collectionPath(type, namespace),
          query,
          (phase: string, object: unknown) => {
            if (stopped || closed) return;
            if (phase === 'ERROR') {
              const status = (object ?? {}) as Record<string, unknown>;
              const code = typeof status.code === 'number' ? status.code : 500;
              close(
                new KubeApiError(
                  String(status.message ?? 'watch error'),
                  code,
                  String(status.reason ?? 'Unknown'),
                  status,
                ),
              );
              controller?.abort();
              return;
            }
            onEvent({ type: phase as WatchEvent<T>['type'], object: object as T });
          },
          (error: unknown) => {
            if (stopped) return;
            const isAbort = error instanceof Error && error.name === 'AbortError';
            close(error && !isAbort ? toKubeApiError(error) : undefined);
          },
        );
      } catch (error) {
        throw toKubeApiError(error);
      }
      return {
        stop: () => {
          stopped = true;
          controller?.abort();
        },
      };
    },
  };
}
