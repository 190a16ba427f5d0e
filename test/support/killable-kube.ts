/**
 * KubeClient decorators that stand in for a controller process dying: `killableKube` can be killed
 * (nothing it sends afterwards reaches the API server, answers in flight are lost, watches go
 * silent), and `afterStatusWrites` calls a hook after each DeployRequest status write the API
 * server accepted, so a test can kill the process right there, between a write and the next side
 * effect. Shared by the e2e resilience tests and the chaos suite.
 */
import {
  KubeApiError,
  type KubeClient,
  type KubeObject,
  type ResourceType,
  type WatchHandle,
  type WriteOptions,
} from '../../src/kube/kube-client.js';

export interface KillableKube {
  kube: KubeClient;
  /** The process dies: every call from now on fails, answers in flight are lost, watches go silent. */
  kill(): void;
  readonly dead: boolean;
}

/**
 * Wrap a KubeClient so that the controller using it can be killed abruptly. A request already on
 * the wire may still take effect at the API server (as when a process dies mid-request), but its
 * answer never arrives; the controller's own `stop()` afterwards cannot release its Lease or write
 * anything, just like a SIGKILL.
 */
export function killableKube(inner: KubeClient): KillableKube {
  let dead = false;
  const watches = new Set<WatchHandle>();
  const killed = (): KubeApiError => new KubeApiError('connection refused (process killed)', 0, 'Killed');
  const guard = async <T>(call: () => Promise<T>): Promise<T> => {
    if (dead) throw killed();
    const result = await call();
    if (dead) throw killed();
    return result;
  };
  const kube: KubeClient = {
    get: (type, namespace, name) => guard(() => inner.get(type, namespace, name)),
    list: (type, namespace, options) => guard(() => inner.list(type, namespace, options)),
    create: (type, object, options) => guard(() => inner.create(type, object, options)),
    patch: (type, namespace, name, patch, patchType, options) =>
      guard(() => inner.patch(type, namespace, name, patch, patchType, options)),
    replace: (type, object, options) => guard(() => inner.replace(type, object, options)),
    delete: (type, namespace, name) => guard(() => inner.delete(type, namespace, name)),
    async watch(type, namespace, options, onEvent, onClose) {
      const handle = await guard(() =>
        inner.watch(
          type,
          namespace,
          options,
          (event) => {
            if (!dead) onEvent(event as never);
          },
          (error) => {
            if (!dead) onClose(error);
          },
        ),
      );
      let stopped = false;
      const wrapped: WatchHandle = {
        stop() {
          if (stopped) return;
          stopped = true;
          watches.delete(wrapped);
          handle.stop();
        },
      };
      watches.add(wrapped);
      return wrapped;
    },
  };
  return {
    kube,
    kill() {
      dead = true;
      for (const handle of [...watches]) handle.stop();
    },
    get dead() {
      return dead;
    },
  };
}

/**
 * Calls `hook` (with the request as written) after every DeployRequest status write that the API
 * server accepted; the answer reaches the caller only after the hook returns (or never, when the
 * hook kills the process).
 */
export function afterStatusWrites(inner: KubeClient, hook: (written: KubeObject) => void): KubeClient {
  const isStatusWrite = (plural: string, subresource?: string): boolean =>
    plural === 'deployrequests' && subresource === 'status';
  return {
    ...inner,
    get: inner.get.bind(inner),
    list: inner.list.bind(inner),
    create: inner.create.bind(inner),
    delete: inner.delete.bind(inner),
    watch: inner.watch.bind(inner),
    async replace<T extends KubeObject>(type: ResourceType, object: T, options?: WriteOptions): Promise<T> {
      const written = await inner.replace<T>(type, object, options);
      if (isStatusWrite(type.plural, options?.subresource)) hook(written);
      return written;
    },
    async patch<T extends KubeObject>(...args: Parameters<KubeClient['patch']>): Promise<T> {
      const written = await inner.patch<T>(...args);
      if (isStatusWrite(args[0].plural, args[5]?.subresource)) hook(written);
      return written;
    },
  };
}
