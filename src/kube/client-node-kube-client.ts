/**
 * The one adapter that owns `@kubernetes/client-node`: it implements {@link KubeClient} over the
 * API server's REST paths (every group, status subresources included). Reads and writes go through
 * `api-request.ts` (undici's `request` with client-node's authentication and connection settings),
 * watches through client-node's Watch. Nothing outside `src/kube/` imports client-node.
 */
import { ApiException, PatchStrategy, Watch, type KubeConfig } from '@kubernetes/client-node';
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
import { createApiRequest, statusError } from './api-request.js';
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
  if (error instanceof ApiException) return statusError(error.code, error.body);
  const message = error instanceof Error ? error.message : String(error);
  return new KubeApiError(`cannot reach the Kubernetes API: ${message}`, 0, 'ConnectionFailed');
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
    const key = connectionKey(cluster, agentOptions);
    if (!cache.has(key)) cache.set(key, create(cluster, agentOptions));
    return cache.get(key);
  };
}

/**
 * A digest of the connection settings of one call. Certificates and keys are hashed as bytes:
 * this runs on every API call, and `JSON.stringify` of a Buffer spells out every byte as a number.
 */
function connectionKey(cluster: unknown, agentOptions: Record<string, unknown>): string {
  const hash = createHash('sha256').update(JSON.stringify(cluster ?? null));
  for (const name of Object.keys(agentOptions).sort()) {
    const value = agentOptions[name];
    hash.update(`\0${name}=`);
    hash.update(Buffer.isBuffer(value) ? value : JSON.stringify(value ?? null));
  }
  return hash.digest('hex');
}

/** Make a KubeClient over a loaded KubeConfig. */
export function createClientNodeKubeClient(config: KubeConfig): KubeClient {
  reuseConnections(config);
  const send = createApiRequest(config);
  const watcher = new Watch(config);

  const objectPath = (
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    subresource?: 'status',
  ): string =>
    `${collectionPath(type, namespace)}/${encodeURIComponent(name)}${subresource ? `/${subresource}` : ''}`;
  // The object's own apiVersion/kind win, so a mismatch reaches the API server and is refused there.
  const withKind = <T extends KubeObject>(type: ResourceType, object: T): T => ({
    apiVersion: apiVersionOf(type),
    kind: type.kind,
    ...object,
  });

  return {
    async get<T extends KubeObject>(
      type: ResourceType,
      namespace: string | undefined,
      name: string,
    ): Promise<T | undefined> {
      try {
        return await send<T>('GET', objectPath(type, namespace, name));
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
      const result = await send<{ items?: T[] | null; metadata?: { resourceVersion?: string } }>(
        'GET',
        collectionPath(type, namespace),
        { query: { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector } },
      );
      return { items: result.items ?? [], resourceVersion: result.metadata?.resourceVersion ?? '' };
    },

    async create<T extends KubeObject>(
      type: ResourceType,
      object: T,
      options: WriteOptions = {},
    ): Promise<T> {
      return send<T>('POST', collectionPath(type, object.metadata.namespace), {
        query: { fieldManager: options.fieldManager },
        body: withKind(type, object),
      });
    },

    async patch<T extends KubeObject>(
      type: ResourceType,
      namespace: string | undefined,
      name: string,
      patch: unknown,
      patchType: PatchType,
      options: WriteOptions = {},
    ): Promise<T> {
      return send<T>('PATCH', objectPath(type, namespace, name, options.subresource), {
        query: { fieldManager: options.fieldManager, force: options.force },
        body: patch,
        contentType: CONTENT_TYPES[patchType],
      });
    },

    async replace<T extends KubeObject>(
      type: ResourceType,
      object: T,
      options: WriteOptions = {},
    ): Promise<T> {
      const path = objectPath(
        type,
        object.metadata.namespace,
        object.metadata.name ?? '',
        options.subresource,
      );
      return send<T>('PUT', path, {
        query: { fieldManager: options.fieldManager },
        body: withKind(type, object),
      });
    },

    async delete(type: ResourceType, namespace: string | undefined, name: string): Promise<void> {
      try {
        await send('DELETE', objectPath(type, namespace, name));
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
