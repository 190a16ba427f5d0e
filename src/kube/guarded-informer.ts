/**
 * A list+watch cache over the narrow {@link KubeClient}, guarded so that it never silently stops:
 * any watch error restarts the watch with exponential backoff, a 410 Gone (or a resume that the
 * server refuses) relists, a stream that simply ends is resumed from the last resourceVersion, and
 * a periodic resync re-delivers every cached object so that handlers re-enqueue them.
 */
import type { Logger } from '../observability/logger.js';
import {
  isKubeError,
  type KubeClient,
  type KubeObject,
  type ResourceType,
  type WatchHandle,
} from './kube-client.js';

export type InformerEvent = 'add' | 'update' | 'delete';

export interface GuardedInformerOptions {
  kube: KubeClient;
  type: ResourceType;
  /** Namespace to watch; undefined for all namespaces. */
  namespace?: string;
  labelSelector?: string;
  /** Re-deliver every cached object as an update this often; 0 disables. Default 5 minutes. */
  resyncMs?: number;
  /** First restart delay after an error; doubles up to `maxBackoffMs`. Defaults 250 ms and 30 s. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  logger?: Logger;
  /**
   * Applied to every object before it is cached and handed to handlers, e.g.
   * {@link withoutManagedFields}: what the cache need not keep is not kept for every object.
   */
  transform?: (object: KubeObject) => KubeObject;
  /** Called on every restart, relist and error, for metrics and tests. */
  onLifecycle?: (event: 'list' | 'watch' | 'relist' | 'error', detail?: unknown) => void;
}

type Handler<T> = (object: T, old?: T) => void;

/**
 * The object without `metadata.managedFields`: often the largest part of an object's metadata,
 * and nothing the controller decides from a cached object needs it (the reconciler reads the
 * status writers from a fresh GET).
 */
export function withoutManagedFields(object: KubeObject): KubeObject {
  if (object.metadata.managedFields === undefined) return object;
  const { managedFields: _dropped, ...metadata } = object.metadata;
  return { ...object, metadata };
}

/** Cache key of an object: `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(object: KubeObject): string {
  const { namespace, name } = object.metadata;
  return namespace ? `${namespace}/${name}` : `${name}`;
}

/** A self-healing informer: a local cache of one resource type kept current by list+watch. */
export class GuardedInformer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  /** The same objects by namespace: handlers ask for one namespace on every event. */
  private readonly byNamespace = new Map<string, Map<string, T>>();
  private readonly handlers: Record<InformerEvent, Array<Handler<T>>> = { add: [], update: [], delete: [] };
  private watchHandle: WatchHandle | undefined;
  private resourceVersion = '';
  private stopped = true;
  private synced = false;
  private failures = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  /** Resolves a pending start-up backoff, so that stop() during it does not leave start() hanging. */
  private wakeUp: (() => void) | undefined;

  constructor(private readonly options: GuardedInformerOptions) {}

  /** Register a handler. `update` handlers receive the previous object as second argument. */
  on(event: InformerEvent, handler: Handler<T>): this {
    this.handlers[event].push(handler);
    return this;
  }

  /** True once the first list has filled the cache. */
  get hasSynced(): boolean {
    return this.synced;
  }

  /** The cached object, if any. */
  get(namespace: string | undefined, name: string): T | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Cached objects, optionally of one namespace. */
  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.cache.values()];
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }

  /** Start; resolves after the first successful list (retrying with backoff until then or stop). */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    const resyncMs = this.options.resyncMs ?? 300_000;
    if (resyncMs > 0) {
      this.resyncTimer = setInterval(() => this.resync(), resyncMs);
      this.resyncTimer.unref();
    }
    while (!this.stopped) {
      try {
        await this.relist();
        break;
      } catch (error) {
        await this.sleep(this.nextBackoff(error));
      }
    }
    if (!this.stopped) await this.startWatch();
  }

  /** Stop watching. The cache stays readable. */
  stop(): void {
    this.stopped = true;
    this.generation++;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.wakeUp?.();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.watchHandle?.stop();
    this.watchHandle = undefined;
  }

  private async relist(): Promise<void> {
    const { kube, type, namespace, labelSelector } = this.options;
    const result = await kube.list<T>(type, namespace, labelSelector ? { labelSelector } : {});
    this.options.onLifecycle?.(this.synced ? 'relist' : 'list', result.items.length);
    const seen = new Set<string>();
    for (const object of result.items) {
      const key = objectKey(object);
      seen.add(key);
      this.apply(key, object);
    }
    for (const [key, old] of [...this.cache]) {
      if (!seen.has(key)) {
        this.forget(key, old);
        this.emit('delete', old);
      }
    }
    this.resourceVersion = result.resourceVersion;
    this.synced = true;
  }

  private apply(key: string, received: T): void {
    const object = this.options.transform ? (this.options.transform(received) as T) : received;
    const old = this.cache.get(key);
    this.cache.set(key, object);
    const namespace = object.metadata.namespace ?? '';
    let index = this.byNamespace.get(namespace);
    if (!index) this.byNamespace.set(namespace, (index = new Map()));
    index.set(key, object);
    if (!old) this.emit('add', object);
    else if (old.metadata.resourceVersion !== object.metadata.resourceVersion)
      this.emit('update', object, old);
  }

  private async startWatch(): Promise<void> {
    const generation = ++this.generation;
    const { kube, type, namespace, labelSelector } = this.options;
    this.options.onLifecycle?.('watch', this.resourceVersion);
    try {
      this.watchHandle = await kube.watch<T>(
        type,
        namespace,
        { resourceVersion: this.resourceVersion, ...(labelSelector ? { labelSelector } : {}) },
        (event) => {
          if (generation !== this.generation) return;
          if (event.object.metadata.resourceVersion)
            this.resourceVersion = event.object.metadata.resourceVersion;
          if (event.type === 'BOOKMARK') return;
          const key = objectKey(event.object);
          if (event.type === 'DELETED') {
            const old = this.cache.get(key);
            if (old) this.forget(key, old);
            this.emit(
              'delete',
              old ?? (this.options.transform?.(event.object) as T | undefined) ?? event.object,
            );
          } else {
            this.apply(key, event.object);
          }
          this.failures = 0;
        },
        (error) => {
          if (generation !== this.generation) return;
          this.restart(error);
        },
      );
    } catch (error) {
      if (generation === this.generation) this.restart(error);
    }
  }

  /** The one restart path: every watch end comes here. */
  private restart(error?: unknown): void {
    if (this.stopped) return;
    this.watchHandle = undefined;
    const gone = isKubeError(error, 410);
    // A plain stream end resumes at once; a first 410 relists at once; anything else (and repeated
    // 410s) backs off, so a server that keeps failing is not hammered.
    const delay =
      error === undefined ? 0 : gone && this.failures === 0 ? (this.failures++, 0) : this.nextBackoff(error);
    if (error !== undefined) {
      this.options.onLifecycle?.('error', error);
      this.options.logger?.warn(
        { resource: this.options.type.plural, err: error, retryInMs: delay, relist: gone },
        gone ? 'watch expired (410 Gone); relisting' : 'watch failed; restarting',
      );
    }
    this.restartTimer = setTimeout(() => {
      void (async () => {
        if (this.stopped) return;
        try {
          if (gone) await this.relist();
          await this.startWatch();
        } catch (relistError) {
          this.restart(relistError);
        }
      })();
    }, delay);
  }

  private nextBackoff(error: unknown): number {
    this.failures++;
    const initial = this.options.initialBackoffMs ?? 250;
    const max = this.options.maxBackoffMs ?? 30_000;
    this.options.logger?.debug({ err: error, failures: this.failures }, 'informer backoff');
    return Math.min(max, initial * 2 ** Math.min(this.failures - 1, 20));
  }

  private forget(key: string, old: T): void {
    this.cache.delete(key);
    const namespace = old.metadata.namespace ?? '';
    const index = this.byNamespace.get(namespace);
    index?.delete(key);
    if (index?.size === 0) this.byNamespace.delete(namespace);
  }

  private resync(): void {
    for (const object of this.cache.values()) this.emit('update', object, object);
  }

  private emit(event: InformerEvent, object: T, old?: T): void {
    for (const handler of this.handlers[event]) {
      try {
        handler(object, old);
      } catch (error) {
        this.options.logger?.error({ err: error, event }, 'informer handler threw');
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = resolve;
      this.restartTimer = setTimeout(resolve, ms);
    });
  }
}
