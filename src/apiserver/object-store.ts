/**
 * Storage of the embedded API server, modelled on etcd as the real API server uses it: one global,
 * monotonically increasing revision that every write takes as the object's resourceVersion; a
 * bounded log of recent changes from which watches resume; and 410 Gone for a resume point that
 * has fallen out of that log.
 */
import { gone } from './status-error.js';

/** A stored object (a plain JSON value with metadata). */
export type StoredObject = Record<string, unknown> & { metadata: Record<string, unknown> };

/** A change, as watchers see it. */
export interface StoreEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  /** `group/plural` of the object's resource (version-independent, as etcd keys are). */
  resource: string;
  revision: number;
  object: StoredObject;
}

type Listener = (event: StoreEvent) => void;

/**
 * Deep copy of a JSON value (objects in the store are never shared with callers). Copied with
 * literals rather than structuredClone: the copies belong to the caller's realm, so comparisons
 * such as isDeepStrictEqual (which checks prototypes) hold between stored objects and request
 * bodies also when the server runs inside a VM context (jest's), where structuredClone would make
 * objects of the outer realm and every update would look like a spec change.
 */
export function clone<T>(value: T): T {
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const item of value) items.push(clone(item));
    return items as T;
  }
  if (value !== null && typeof value === 'object') {
    const copy: Record<string, unknown> = {};
    // defineProperty: a "__proto__" key stays a plain property, as JSON.parse makes it.
    for (const [key, item] of Object.entries(value))
      Object.defineProperty(copy, key, {
        value: clone(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return copy as T;
  }
  return value;
}

/** The in-memory object store with revisions and a change log. */
export class ObjectStore {
  private readonly objects = new Map<string, Map<string, StoredObject>>();
  private readonly log: StoreEvent[] = [];
  private readonly listeners = new Set<Listener>();
  private revisionCounter: number;
  /** Changes up to this revision are no longer in the log (a watch must resume at or after it). */
  private compactedRevision: number;

  /**
   * @param logSize how many changes are kept for watch resume; older resume points get 410 Gone.
   * @param initialRevision the revision to continue from (after a restart from a data dir).
   */
  constructor(
    private readonly logSize = 10_000,
    initialRevision = 1,
  ) {
    this.revisionCounter = initialRevision;
    this.compactedRevision = initialRevision;
  }

  /** The newest revision (a list's resourceVersion). */
  get revision(): number {
    return this.revisionCounter;
  }

  /** The oldest revision a watch may resume from without 410. */
  get oldestResumableRevision(): number {
    return this.compactedRevision;
  }

  /** Stored object, or undefined. The caller gets a copy. */
  get(resource: string, key: string): StoredObject | undefined {
    const object = this.objects.get(resource)?.get(key);
    return object ? clone(object) : undefined;
  }

  /**
   * The stored object itself, not a copy: read-only, for callers that copy what they keep
   * (the resource service presents every answer as a fresh copy).
   */
  peek(resource: string, key: string): StoredObject | undefined {
    return this.objects.get(resource)?.get(key);
  }

  /**
   * The stored objects that pass `filter`, in key order, not copied: read-only, as `peek`. Filtering
   * before anything is copied keeps a namespaced or selector list cheap in a large store.
   */
  select(resource: string, filter: (object: StoredObject) => boolean): StoredObject[] {
    const bucket = this.objects.get(resource);
    if (!bucket) return [];
    return [...bucket.entries()]
      .filter(([, object]) => filter(object))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, object]) => object);
  }

  /** All objects of a resource (copies), in key order. */
  list(resource: string): StoredObject[] {
    const bucket = this.objects.get(resource);
    if (!bucket) return [];
    return [...bucket.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, object]) => clone(object));
  }

  /** Every resource and its objects, for persistence. */
  dump(): Array<[string, StoredObject[]]> {
    // Not copied: the snapshot is serialized at once and never changed.
    return [...this.objects.keys()].map((resource) => [resource, this.select(resource, () => true)]);
  }

  /** Put an object (create or update): assigns the next revision as its resourceVersion. */
  put(resource: string, key: string, object: StoredObject): StoredObject {
    const bucket = this.bucket(resource);
    const type = bucket.has(key) ? 'MODIFIED' : 'ADDED';
    const revision = ++this.revisionCounter;
    const stored = clone(object);
    stored.metadata.resourceVersion = String(revision);
    bucket.set(key, stored);
    this.record({ type, resource, revision, object: stored });
    return clone(stored);
  }

  /** Remove an object; the DELETED event carries its last state with a new revision. */
  remove(resource: string, key: string): StoredObject | undefined {
    const bucket = this.objects.get(resource);
    const existing = bucket?.get(key);
    if (!bucket || !existing) return undefined;
    bucket.delete(key);
    const revision = ++this.revisionCounter;
    const last = clone(existing);
    last.metadata.resourceVersion = String(revision);
    this.record({ type: 'DELETED', resource, revision, object: last });
    return clone(last);
  }

  /** Load an object as it was persisted, without an event (start-up only). */
  restore(resource: string, key: string, object: StoredObject): void {
    this.bucket(resource).set(key, clone(object));
    const revision = Number(object.metadata.resourceVersion ?? 0);
    if (revision > this.revisionCounter) this.revisionCounter = revision;
    this.compactedRevision = this.revisionCounter;
  }

  /**
   * Events after `fromRevision` (exclusive) and a subscription to later ones. Throws 410 Gone when
   * `fromRevision` is older than the kept log. The returned function unsubscribes.
   *
   * Events are shared, not copied: every subscriber sees every event of every resource, and most
   * discard it, so copying for each would cost one deep copy per watcher per write. Subscribers
   * must treat `event.object` as read-only and copy what they hand on (the resource service does).
   */
  subscribe(fromRevision: number, listener: Listener): { backlog: StoreEvent[]; unsubscribe: () => void } {
    if (fromRevision < this.oldestResumableRevision) throw gone(String(fromRevision));
    const backlog = this.log.filter((event) => event.revision > fromRevision);
    this.listeners.add(listener);
    return { backlog, unsubscribe: () => this.listeners.delete(listener) };
  }

  /** Forget the change log (tests use this to force 410 Gone on resume). */
  compact(): void {
    this.log.length = 0;
    this.compactedRevision = this.revisionCounter;
  }

  private bucket(resource: string): Map<string, StoredObject> {
    let bucket = this.objects.get(resource);
    if (!bucket) {
      bucket = new Map();
      this.objects.set(resource, bucket);
    }
    return bucket;
  }

  private record(event: StoreEvent): void {
    this.log.push(event);
    if (this.log.length > this.logSize) {
      const dropped = this.log.splice(0, this.log.length - this.logSize);
      this.compactedRevision = (dropped[dropped.length - 1] as StoreEvent).revision;
    }
    for (const listener of this.listeners) listener(event);
  }
}
