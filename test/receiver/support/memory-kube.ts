/**
 * An in-memory KubeClient for receiver unit tests: create with 409 on a taken name, get, list, and
 * injectable failures. Integration tests use the embedded API server instead.
 */
import {
  KubeApiError,
  type KubeClient,
  type KubeObject,
  type ResourceType,
} from '../../../src/kube/kube-client.js';

export interface MemoryKube extends KubeClient {
  objects: Map<string, KubeObject>;
  /** Make the next calls of `verb` fail with this error (until cleared with undefined). */
  failures: Partial<Record<'get' | 'list' | 'create', KubeApiError | undefined>>;
  calls: string[];
  /** Resolves at the next call `call` (e.g. `get deployrequests`) after this one. */
  nextCall(call: string): Promise<void>;
  put(type: ResourceType, object: KubeObject): void;
  all(type: ResourceType): KubeObject[];
}

export function createMemoryKube(): MemoryKube {
  const objects = new Map<string, KubeObject>();
  const key = (type: ResourceType, namespace: string | undefined, name: string) =>
    `${type.group}/${type.plural}/${namespace ?? ''}/${name}`;
  let version = 1;
  const waiters: Array<{ call: string; resolve: () => void }> = [];
  const record = (call: string): void => {
    kube.calls.push(call);
    for (const waiter of waiters.filter((w) => w.call === call)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  };
  const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  const kube: MemoryKube = {
    objects,
    failures: {},
    calls: [],
    nextCall(call) {
      return new Promise((resolve) => waiters.push({ call, resolve }));
    },
    put(type, object) {
      objects.set(key(type, object.metadata.namespace, object.metadata.name!), clone(object));
    },
    all(type) {
      return [...objects.entries()]
        .filter(([k]) => k.startsWith(`${type.group}/${type.plural}/`))
        .map(([, v]) => v);
    },
    async get(type, namespace, name) {
      record(`get ${type.plural}`);
      if (kube.failures.get) throw kube.failures.get;
      const found = objects.get(key(type, namespace, name));
      return found ? (clone(found) as never) : undefined;
    },
    async list(type, namespace) {
      record(`list ${type.plural}`);
      if (kube.failures.list) throw kube.failures.list;
      const items = kube.all(type).filter((o) => o.metadata.namespace === namespace);
      return { items: clone(items) as never, resourceVersion: String(version) };
    },
    async create(type, object) {
      record(`create ${type.plural}`);
      if (kube.failures.create) throw kube.failures.create;
      const k = key(type, object.metadata.namespace, object.metadata.name!);
      if (objects.has(k))
        throw new KubeApiError(`${object.metadata.name} already exists`, 409, 'AlreadyExists');
      const stored = clone(object);
      stored.metadata.resourceVersion = String(++version);
      stored.metadata.uid = `uid-${version}`;
      stored.metadata.creationTimestamp = new Date().toISOString();
      objects.set(k, stored);
      return clone(stored) as never;
    },
    async patch() {
      throw new Error('not used by the receiver');
    },
    async replace() {
      throw new Error('not used by the receiver');
    },
    async delete() {
      throw new Error('not used by the receiver');
    },
    async watch() {
      throw new Error('not used by the receiver');
    },
  };
  return kube;
}
