/**
 * An in-process {@link KubeClient} over the embedded API server's resource service: the same
 * semantics as going through HTTP (it calls the same code), without sockets. The workload
 * simulator and fast unit tests use it; integration tests use the HTTP adapter instead.
 */
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
} from '../kube/kube-client.js';
import type { FaultInjector, Verb } from './faults/fault-injector.js';
import type { ResourceRegistry, ResourceDefinition } from './resource-registry.js';
import type { ResourceService, Scope } from './resource-service.js';
import { ApiError } from './status-error.js';

function toKubeError(error: unknown): never {
  if (error instanceof ApiError)
    throw new KubeApiError(error.message, error.code, error.reason, error.toStatus());
  throw error;
}

/** Make an in-process KubeClient. Faults apply to it as to HTTP requests, when given. */
export function createStoreKubeClient(
  registry: ResourceRegistry,
  service: ResourceService,
  faults?: FaultInjector,
): KubeClient {
  const resolve = (type: ResourceType): ResourceDefinition => {
    const resource = registry.find(type.group, type.version, type.plural);
    if (!resource)
      throw new KubeApiError('the server could not find the requested resource', 404, 'NotFound');
    return resource;
  };
  const guard = async <T>(verb: Verb, type: ResourceType, fn: () => T): Promise<T> => {
    const latency = faults?.latency() ?? 0;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    const code = faults?.errorFor(verb, type.plural);
    if (code !== undefined)
      throw new KubeApiError(`injected fault ${code}`, code, code === 409 ? 'Conflict' : 'InternalError');
    try {
      return fn();
    } catch (error) {
      return toKubeError(error);
    }
  };
  const scopeOf = (
    type: ResourceType,
    namespace: string | undefined,
    name?: string,
    subresource?: 'status',
  ): Scope => ({
    resource: resolve(type),
    namespace: type.namespaced ? namespace : undefined,
    name,
    subresource,
  });
  const patchContent: Record<PatchType, 'merge' | 'json' | 'strategic' | 'apply'> = {
    merge: 'merge',
    json: 'json',
    strategic: 'strategic',
    apply: 'apply',
  };

  return {
    async get<T extends KubeObject>(
      type: ResourceType,
      namespace: string | undefined,
      name: string,
    ): Promise<T | undefined> {
      try {
        return (await guard('get', type, () => service.get(scopeOf(type, namespace, name)))) as unknown as T;
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
      const result = await guard('list', type, () => service.list(scopeOf(type, namespace), options));
      return { items: result.items as unknown as T[], resourceVersion: result.resourceVersion };
    },
    async create<T extends KubeObject>(
      type: ResourceType,
      object: T,
      options: WriteOptions = {},
    ): Promise<T> {
      const result = await guard('create', type, () =>
        service.create(scopeOf(type, object.metadata.namespace), object, {
          fieldManager: options.fieldManager,
        }),
      );
      return result.object as unknown as T;
    },
    async patch<T extends KubeObject>(
      type: ResourceType,
      namespace: string | undefined,
      name: string,
      patch: unknown,
      patchType: PatchType,
      options: WriteOptions = {},
    ): Promise<T> {
      const result = await guard('patch', type, () =>
        service.patch(
          scopeOf(type, namespace, name, options.subresource),
          patchContent[patchType],
          JSON.stringify(patch),
          {
            fieldManager: options.fieldManager,
            force: options.force,
          },
        ),
      );
      return result.object as unknown as T;
    },
    async replace<T extends KubeObject>(
      type: ResourceType,
      object: T,
      options: WriteOptions = {},
    ): Promise<T> {
      const result = await guard('update', type, () =>
        service.update(
          scopeOf(type, object.metadata.namespace, object.metadata.name, options.subresource),
          object,
          {
            fieldManager: options.fieldManager,
          },
        ),
      );
      return result.object as unknown as T;
    },
    async delete(type: ResourceType, namespace: string | undefined, name: string): Promise<void> {
      try {
        await guard('delete', type, () => service.delete(scopeOf(type, namespace, name)));
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
      let events = 0;
      const limits = faults?.watchLimits() ?? {};
      const resumes =
        options.resourceVersion !== undefined &&
        options.resourceVersion !== '' &&
        options.resourceVersion !== '0';
      if (resumes && faults?.forceGone())
        throw new KubeApiError(`too old resource version: ${options.resourceVersion}`, 410, 'Expired');
      let subscription: { unsubscribe: () => void } | undefined;
      const finish = (error?: Error): void => {
        if (stopped) return;
        stopped = true;
        subscription?.unsubscribe();
        if (cutTimer) clearTimeout(cutTimer);
        onClose(error);
      };
      const deliver = (type: WatchEvent<T>['type'], object: unknown): void => {
        if (stopped) return;
        // Deliver asynchronously, as a network stream would, so handlers never run inside a write.
        queueMicrotask(() => {
          if (stopped) return;
          onEvent({ type, object: object as T });
          events++;
          if (limits.afterEvents !== undefined && events >= limits.afterEvents) {
            faults?.recordCut();
            finish();
          }
        });
      };
      const cutTimer =
        limits.afterMs !== undefined
          ? setTimeout(() => {
              faults?.recordCut();
              finish();
            }, limits.afterMs)
          : undefined;
      try {
        const result = service.watch(scopeOf(type, namespace), options, (event) =>
          deliver(event.type, event.object),
        );
        subscription = result;
        for (const event of result.backlog) deliver(event.type, event.object);
      } catch (error) {
        if (cutTimer) clearTimeout(cutTimer);
        toKubeError(error);
      }
      return {
        stop: () => {
          if (stopped) return;
          stopped = true;
          subscription?.unsubscribe();
          if (cutTimer) clearTimeout(cutTimer);
        },
      };
    },
  };
}
