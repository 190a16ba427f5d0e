/**
 * `--data-dir` persistence: the store is written as one JSON snapshot (atomically: temp file,
 * fsync, rename) shortly after changes and on close, and read back at start, so the embedded API
 * server can restart without losing objects. The watch log is not persisted: watches that try to
 * resume across a restart get 410 Gone and relist, as they would after an etcd compaction.
 */
import {
  mkdirSync,
  openSync,
  writeSync,
  fsyncSync,
  closeSync,
  renameSync,
  readFileSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import type { ObjectStore, StoredObject } from './object-store.js';

const FILE = 'objects.json';

interface Snapshot {
  revision: number;
  resources: Array<[string, StoredObject[]]>;
}

/** Read a snapshot into an empty store; returns the revision to continue from (0 when none). */
export function loadSnapshot(dataDir: string, store: ObjectStore): number {
  const path = join(dataDir, FILE);
  if (!existsSync(path)) return 0;
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  for (const [resource, objects] of snapshot.resources) {
    for (const object of objects) {
      const namespace = object.metadata.namespace as string | undefined;
      const name = object.metadata.name as string;
      store.restore(resource, namespace ? `${namespace}/${name}` : name, object);
    }
  }
  return snapshot.revision;
}

/** Write the store's snapshot atomically. */
export function saveSnapshot(dataDir: string, store: ObjectStore): void {
  mkdirSync(dataDir, { recursive: true });
  const snapshot: Snapshot = { revision: store.revision, resources: store.dump() };
  const temp = join(dataDir, `${FILE}.tmp`);
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(snapshot));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(dataDir, FILE));
}
