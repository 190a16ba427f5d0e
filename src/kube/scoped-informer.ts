/**
 * The informer the controller uses: one {@link GuardedInformer} over all namespaces, or, when the
 * controller is restricted to listed namespaces, one per namespace behind the same interface. A
 * namespaced controller is granted Roles in those namespaces only, so it must never list or watch
 * cluster-wide.
 */
import { GuardedInformer, type GuardedInformerOptions, type InformerEvent } from './guarded-informer.js';
import type { KubeObject } from './kube-client.js';

/** The part of an informer's interface the controller needs. */
export interface Informer<T extends KubeObject> {
  on(event: InformerEvent, handler: (object: T, old?: T) => void): this;
  readonly hasSynced: boolean;
  get(namespace: string | undefined, name: string): T | undefined;
  list(namespace?: string): T[];
  start(): Promise<void>;
  stop(): void;
}

export interface ScopedInformerOptions extends Omit<GuardedInformerOptions, 'namespace'> {
  /** Namespaces to watch; undefined or empty for all namespaces. */
  namespaces?: readonly string[];
}

/** Informers over several namespaces that read like one. */
class MultiNamespaceInformer<T extends KubeObject> implements Informer<T> {
  private readonly byNamespace: Map<string, GuardedInformer<T>>;

  constructor(options: ScopedInformerOptions, namespaces: readonly string[]) {
    this.byNamespace = new Map(
      namespaces.map((namespace) => [namespace, new GuardedInformer<T>({ ...options, namespace })]),
    );
  }

  on(event: InformerEvent, handler: (object: T, old?: T) => void): this {
    for (const informer of this.byNamespace.values()) informer.on(event, handler);
    return this;
  }

  get hasSynced(): boolean {
    return [...this.byNamespace.values()].every((informer) => informer.hasSynced);
  }

  get(namespace: string | undefined, name: string): T | undefined {
    return namespace === undefined ? undefined : this.byNamespace.get(namespace)?.get(namespace, name);
  }

  list(namespace?: string): T[] {
    if (namespace !== undefined) return this.byNamespace.get(namespace)?.list(namespace) ?? [];
    return [...this.byNamespace.values()].flatMap((informer) => informer.list());
  }

  async start(): Promise<void> {
    await Promise.all([...this.byNamespace.values()].map((informer) => informer.start()));
  }

  stop(): void {
    for (const informer of this.byNamespace.values()) informer.stop();
  }
}

/** An informer over all namespaces, or over exactly the listed ones. */
export function createScopedInformer<T extends KubeObject>(options: ScopedInformerOptions): Informer<T> {
  const { namespaces, ...rest } = options;
  if (!namespaces || namespaces.length === 0) return new GuardedInformer<T>(rest);
  return new MultiNamespaceInformer<T>(rest, [...new Set(namespaces)]);
}
