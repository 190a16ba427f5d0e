/**
 * What kubelet writes for a pod's volumes, as host directories for podman to bind-mount: Secret and
 * ConfigMap files (items, modes, and the fsGroup rule: group-owned by fsGroup and group-readable),
 * emptyDirs (world-writable, setgid to fsGroup) and the ServiceAccount's token, CA and namespace.
 * Unknown volume fields throw, as in pod-spec-to-podman.ts. Differences from kubelet: files are
 * written in place, not through kubelet's `..data` symlink swap, and on disk rather than tmpfs.
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  UntranslatableFieldError,
  ignore,
  integer,
  list,
  object,
  walk,
  type Json,
} from './pod-spec-to-podman.js';

export interface VolumeData {
  /** Data of the Secrets and ConfigMaps the pod uses, read from the API server like kubelet does. */
  secrets: Map<string, Record<string, Buffer>>;
  configMaps: Map<string, Record<string, Buffer>>;
  /** The ServiceAccount's token (issued by the API server), the cluster CA and the namespace. */
  serviceAccount: { token: string; caPem: string; namespace: string };
}

/** Writes volumes of one pod under `root`; returns the two directory makers the translator needs. */
export function kubeletVolumes(
  root: string,
  data: VolumeData,
): {
  volumeDir(volume: Json, fsGroup: number | undefined): string;
  serviceAccountDir(name: string, fsGroup: number | undefined): string;
} {
  mkdirSync(root, { recursive: true, mode: 0o755 });

  const owned = (path: string, mode: number, fsGroup: number | undefined, readOnly: boolean): void => {
    // kubelet's SetVolumeOwnership: group fsGroup, group-readable (and writable unless read-only).
    chownSync(path, 0, fsGroup ?? 0);
    chmodSync(path, fsGroup === undefined ? mode : mode | (readOnly ? 0o440 : 0o660));
  };

  const writeFiles = (
    dir: string,
    files: Array<{ path: string; content: Buffer; mode: number }>,
    fsGroup: number | undefined,
  ): string => {
    mkdirSync(dir, { recursive: true });
    for (const file of files) {
      const target = join(dir, file.path);
      mkdirSync(join(target, '..'), { recursive: true });
      writeFileSync(target, file.content);
      owned(target, file.mode, fsGroup, true);
    }
    owned(dir, 0o755, fsGroup, true);
    if (fsGroup !== undefined) chmodSync(dir, 0o2755);
    return dir;
  };

  const projected = (
    source: Json,
    path: string,
    content: Record<string, Buffer> | undefined,
    what: string,
  ): Array<{ path: string; content: Buffer; mode: number }> => {
    let defaultMode = 0o644;
    let items: Json[] | undefined;
    let optional = false;
    walk(source, path, {
      secretName: ignore,
      name: ignore,
      defaultMode: (v, p) => (defaultMode = integer(v, p)),
      items: (v, p) => (items = list(v, p)),
      optional: (v) => (optional = v === true),
    });
    if (!content) {
      if (optional) return [];
      // kubelet would keep the pod in ContainerCreating: the test cannot go on either.
      throw new Error(`${path}: ${what} does not exist in the cluster`);
    }
    if (!items)
      return Object.entries(content).map(([key, value]) => ({
        path: key,
        content: value,
        mode: defaultMode,
      }));
    return items.map((item, i) => {
      const p = `${path}.items[${i}]`;
      walk(item, p, { key: ignore, path: ignore, mode: ignore });
      const value = content[String(item.key)];
      if (value === undefined) throw new Error(`${p}: ${what} has no key ${String(item.key)}`);
      return {
        path: String(item.path),
        content: value,
        mode: item.mode === undefined ? defaultMode : integer(item.mode, `${p}.mode`),
      };
    });
  };

  return {
    volumeDir(volume, fsGroup) {
      const name = String(volume.name);
      const path = `volumes[${name}]`;
      const dir = join(root, name);
      if (volume.secret) {
        const source = object(volume.secret, `${path}.secret`);
        const secretName = String(source.secretName);
        return writeFiles(
          dir,
          projected(source, `${path}.secret`, data.secrets.get(secretName), `Secret ${secretName}`),
          fsGroup,
        );
      }
      if (volume.configMap) {
        const source = object(volume.configMap, `${path}.configMap`);
        const mapName = String(source.name);
        return writeFiles(
          dir,
          projected(source, `${path}.configMap`, data.configMaps.get(mapName), `ConfigMap ${mapName}`),
          fsGroup,
        );
      }
      if (volume.emptyDir !== undefined) {
        walk(object(volume.emptyDir, `${path}.emptyDir`), `${path}.emptyDir`, {
          medium: (v, p) => {
            if (v !== '') throw new UntranslatableFieldError(p, `medium ${String(v)}`);
          },
          // A limit kubelet enforces by eviction; nothing here fills it.
          sizeLimit: ignore,
        });
        mkdirSync(dir, { recursive: true });
        chownSync(dir, 0, fsGroup ?? 0);
        chmodSync(dir, fsGroup === undefined ? 0o777 : 0o2777);
        return dir;
      }
      throw new UntranslatableFieldError(path, 'volume source');
    },
    serviceAccountDir(_name, fsGroup) {
      // The kube-api-access projected volume: defaultMode 0644, token, ca.crt, namespace.
      const { token, caPem, namespace } = data.serviceAccount;
      return writeFiles(
        join(root, 'kube-api-access'),
        [
          { path: 'token', content: Buffer.from(token), mode: 0o644 },
          { path: 'ca.crt', content: Buffer.from(caPem), mode: 0o644 },
          { path: 'namespace', content: Buffer.from(namespace), mode: 0o644 },
        ],
        fsGroup,
      );
    },
  };
}
