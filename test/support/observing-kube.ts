/**
 * A KubeClient decorator counting what a client asked of the API server (`verb plural`, e.g.
 * `patch deployments`) and the API errors it got back, for tests and the chaos suite's reports.
 */
import { KubeApiError, type KubeClient } from '../../src/kube/kube-client.js';

/** What a client asked of the API server and which errors it got back, for the report. */
export interface CallCounts {
  /** Calls by `verb resource`, e.g. `get deployrequests` (a reconcile starts with one). */
  calls: Map<string, number>;
  /** API errors by HTTP code (409s are the conflicts the controller met). */
  errors: Map<number, number>;
}

/** Count a client's calls and the API errors it sees. */
export function observingKube(inner: KubeClient, counts: CallCounts): KubeClient {
  const count = async <T>(call: string, fn: () => Promise<T>): Promise<T> => {
    counts.calls.set(call, (counts.calls.get(call) ?? 0) + 1);
    try {
      return await fn();
    } catch (error) {
      if (error instanceof KubeApiError)
        counts.errors.set(error.code, (counts.errors.get(error.code) ?? 0) + 1);
      throw error;
    }
  };
  return {
    get: (type, namespace, name) => count(`get ${type.plural}`, () => inner.get(type, namespace, name)),
    list: (type, namespace, options) =>
      count(`list ${type.plural}`, () => inner.list(type, namespace, options)),
    create: (type, object, options) =>
      count(`create ${type.plural}`, () => inner.create(type, object, options)),
    patch: (type, namespace, name, patch, patchType, options) =>
      count(`patch ${type.plural}`, () => inner.patch(type, namespace, name, patch, patchType, options)),
    replace: (type, object, options) =>
      count(`update ${type.plural}`, () => inner.replace(type, object, options)),
    delete: (type, namespace, name) =>
      count(`delete ${type.plural}`, () => inner.delete(type, namespace, name)),
    watch: (type, namespace, options, onEvent, onClose) =>
      count(`watch ${type.plural}`, () => inner.watch(type, namespace, options, onEvent, onClose)),
  };
}

export function newCallCounts(): CallCounts {
  return { calls: new Map(), errors: new Map() };
}
