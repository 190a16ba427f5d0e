/**
 * Translates a pod template's container into `podman run` flags, field by field, the way kubelet
 * and a CRI runtime would run it. Every field of the pod spec and of the container is either
 * translated or explicitly accounted for below; any other field throws, so a chart change that
 * podman cannot reproduce fails the container test instead of being silently dropped.
 *
 * Volume contents (what kubelet writes: Secret and ConfigMap files, the ServiceAccount token) come
 * from the caller through {@link PodContext}; see kubelet-volumes.ts.
 */

export type Json = Record<string, unknown>;

/** An HTTP probe, for the test to poll through the published port (podman cannot run it: no curl in the image). */
export interface HttpProbe {
  path: string;
  containerPort: number;
  periodSeconds: number;
  initialDelaySeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
}

export interface PodmanTranslation {
  /** Flags for `podman run` (before the image). */
  flags: string[];
  /** Arguments after the image (the container's `args`). */
  args: string[];
  /** The environment as the process sees it (also in `flags`). */
  env: Record<string, string>;
  /** Container ports, published on host loopback. */
  ports: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: HttpProbe;
  livenessProbe?: HttpProbe;
  /** Pod's terminationGracePeriodSeconds (Kubernetes' default 30): podman's stop timeout. */
  terminationGracePeriodSeconds: number;
  /** Where each volume is mounted, for checks on what the container wrote. */
  mounts: Array<{ volume: string; hostPath: string; mountPath: string; readOnly: boolean }>;
  /** The numeric user the process runs as. */
  user: { uid: number; gid: number };
}

export interface PodContext {
  /** Pod name (hostname, `metadata.name` of the downward API, container name prefix). */
  podName: string;
  namespace: string;
  /** The image under test, replacing the chart's image reference. */
  image: string;
  /** The image's configured user (`USER`), for runAsNonRoot when no runAsUser is given. */
  imageUser: string;
  /** Host directory with a volume's files, written as kubelet writes them. */
  volumeDir(volume: Json, fsGroup: number | undefined): string;
  /** Host directory with the ServiceAccount's token, ca.crt and namespace files. */
  serviceAccountDir(serviceAccountName: string, fsGroup: number | undefined): string;
  /** Whether the ServiceAccount object allows automounting its token (its own field, default true). */
  serviceAccountAutomount(serviceAccountName: string): boolean;
  /** Value of a key of a Secret or ConfigMap in the pod's namespace (env valueFrom). */
  keyValue(kind: 'Secret' | 'ConfigMap', name: string, key: string): string;
  /** The API server as a pod sees it: KUBERNETES_SERVICE_HOST and _PORT. */
  apiServer: { host: string; port: number };
  /** Network flags giving the container its own network namespace that reaches the cluster. */
  networkFlags: string[];
}

/** Thrown for a field the translator does not know how to reproduce. */
export class UntranslatableFieldError extends Error {
  constructor(path: string, why = 'not understood by the podman translator') {
    super(`${path}: ${why}`);
    this.name = 'UntranslatableFieldError';
  }
}

const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

export function object(value: unknown, path: string): Json {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new UntranslatableFieldError(path, 'expected an object');
  return value as Json;
}

export function list(value: unknown, path: string): Json[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new UntranslatableFieldError(path, 'expected a list');
  return value.map((item, i) => object(item, `${path}[${i}]`));
}

/** Walk `fields` of `value`: each known key gets its handler, an unknown key throws. */
export function walk(
  value: Json,
  path: string,
  fields: Record<string, (v: unknown, path: string) => void>,
): void {
  for (const [key, v] of Object.entries(value)) {
    const handler = fields[key];
    if (!handler) throw new UntranslatableFieldError(`${path}.${key}`);
    handler(v, `${path}.${key}`);
  }
}

/** A field that needs no flag (the reason is at its use). */
export const ignore = (): void => undefined;

/** Kubernetes memory quantity to bytes (Ki, Mi, Gi, Ti, k, M, G, T, or plain). */
export function memoryBytes(quantity: unknown, path: string): number {
  const match = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(quantity));
  if (!match) throw new UntranslatableFieldError(path, `memory quantity '${String(quantity)}'`);
  const units: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Math.round(Number(match[1]) * (match[2] ? (units[match[2]] as number) : 1));
}

/** Kubernetes CPU quantity to millicores (`250m`, `0.5`, `2`). */
export function milliCpu(quantity: unknown, path: string): number {
  const match = /^(\d+(?:\.\d+)?)(m)?$/.exec(String(quantity));
  if (!match) throw new UntranslatableFieldError(path, `cpu quantity '${String(quantity)}'`);
  return match[2] ? Number(match[1]) : Math.round(Number(match[1]) * 1000);
}

export function integer(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw new UntranslatableFieldError(path, 'expected an integer');
  return value;
}

function capabilityName(value: unknown, path: string): string {
  if (typeof value !== 'string' || !/^[A-Z_]+$/.test(value))
    throw new UntranslatableFieldError(path, 'capability name');
  return value === 'ALL' ? 'ALL' : `CAP_${value.replace(/^CAP_/, '')}`;
}

/**
 * Translate container `containerName` of pod template spec `pod` into podman flags.
 * Throws {@link UntranslatableFieldError} for anything it cannot reproduce.
 */
export function podSpecToPodman(pod: Json, containerName: string, context: PodContext): PodmanTranslation {
  const flags: string[] = [];
  const env: Record<string, string> = {};
  const ports: PodmanTranslation['ports'] = [];
  const mounts: PodmanTranslation['mounts'] = [];
  let terminationGracePeriodSeconds = 30;
  let serviceAccountName = 'default';
  let automount: boolean | undefined;
  const podSecurity: Json = {};
  const volumes = new Map<string, Json>();
  let container: Json | undefined;

  walk(pod, 'spec', {
    containers: (v, path) => {
      const containers = list(v, path);
      container = containers.find((c) => c.name === containerName);
      if (!container) throw new UntranslatableFieldError(path, `no container named ${containerName}`);
      if (containers.length > 1)
        throw new UntranslatableFieldError(path, 'more than one container (sidecars) is not translated');
    },
    serviceAccountName: (v) => (serviceAccountName = String(v)),
    automountServiceAccountToken: (v) => (automount = v === true),
    terminationGracePeriodSeconds: (v, path) => (terminationGracePeriodSeconds = integer(v, path)),
    securityContext: (v, path) =>
      walk(object(v, path), path, {
        runAsNonRoot: (x) => (podSecurity.runAsNonRoot = x),
        runAsUser: (x, p) => (podSecurity.runAsUser = integer(x, p)),
        runAsGroup: (x, p) => (podSecurity.runAsGroup = integer(x, p)),
        fsGroup: (x, p) => (podSecurity.fsGroup = integer(x, p)),
        supplementalGroups: (x, p) =>
          (podSecurity.supplementalGroups = (x as unknown[]).map((g, i) => integer(g, `${p}[${i}]`))),
        seccompProfile: (x, p) => (podSecurity.seccompProfile = object(x, p)),
      }),
    volumes: (v, path) => {
      for (const volume of list(v, path)) volumes.set(String(volume.name), volume);
    },
    // No registry is involved: the image under test is already in podman's local store.
    imagePullSecrets: ignore,
  });
  if (!container)
    throw new UntranslatableFieldError('spec.containers', `no container named ${containerName}`);

  const security: Json = { ...podSecurity };
  let readOnlyRoot = false;
  let args: string[] = [];
  let readinessProbe: HttpProbe | undefined;
  let livenessProbe: HttpProbe | undefined;
  const portsByName = new Map<string, number>();
  const volumeMounts: Json[] = [];
  const envEntries: Json[] = [];

  // Probes may name a port: resolved once the ports are read.
  const probePorts = new Map<HttpProbe, unknown>();
  const probe = (v: unknown, path: string): HttpProbe => {
    const result: HttpProbe = {
      path: '/',
      containerPort: 0,
      periodSeconds: 10,
      initialDelaySeconds: 0,
      timeoutSeconds: 1,
      failureThreshold: 3,
    };
    walk(object(v, path), path, {
      httpGet: (x, p) =>
        walk(object(x, p), p, {
          path: (y) => (result.path = String(y)),
          port: (y) => probePorts.set(result, y),
          scheme: (y, q) => {
            if (y !== 'HTTP') throw new UntranslatableFieldError(q, `scheme ${String(y)}`);
          },
        }),
      periodSeconds: (x, p) => (result.periodSeconds = integer(x, p)),
      initialDelaySeconds: (x, p) => (result.initialDelaySeconds = integer(x, p)),
      timeoutSeconds: (x, p) => (result.timeoutSeconds = integer(x, p)),
      failureThreshold: (x, p) => (result.failureThreshold = integer(x, p)),
      successThreshold: (x, p) => {
        if (x !== 1) throw new UntranslatableFieldError(p, 'successThreshold other than 1');
      },
    });
    if (!probePorts.has(result))
      throw new UntranslatableFieldError(path, 'only httpGet probes are translated');
    return result;
  };

  walk(container, `spec.containers[${containerName}]`, {
    name: ignore,
    // Replaced by the image under test; pulling it is not part of what is tested.
    image: ignore,
    imagePullPolicy: ignore,
    command: (v, path) => {
      const command = (v as unknown[]).map(String);
      if (command.length === 0) throw new UntranslatableFieldError(path, 'empty command');
      flags.push('--entrypoint', JSON.stringify(command));
    },
    args: (v) => (args = (v as unknown[]).map(String)),
    workingDir: (v) => flags.push('--workdir', String(v)),
    env: (v, path) => envEntries.push(...list(v, path)),
    ports: (v, path) => {
      for (const [i, port] of list(v, path).entries()) {
        const p = `${path}[${i}]`;
        walk(port, p, {
          name: ignore,
          containerPort: (x, q) => integer(x, q),
          protocol: (x, q) => {
            if (x !== 'TCP') throw new UntranslatableFieldError(q, `protocol ${String(x)}`);
          },
        });
        const containerPort = integer(port.containerPort, `${p}.containerPort`);
        ports.push({ ...(port.name ? { name: String(port.name) } : {}), containerPort });
        if (port.name) portsByName.set(String(port.name), containerPort);
      }
    },
    readinessProbe: (v, path) => (readinessProbe = probe(v, path)),
    livenessProbe: (v, path) => (livenessProbe = probe(v, path)),
    resources: (v, path) =>
      walk(object(v, path), path, {
        requests: (x, p) =>
          walk(object(x, p), p, {
            // cgroup cpu shares as kubelet sets them from the request.
            cpu: (y, q) =>
              flags.push('--cpu-shares', String(Math.max(2, Math.floor((milliCpu(y, q) * 1024) / 1000)))),
            memory: (y, q) => flags.push('--memory-reservation', String(memoryBytes(y, q))),
          }),
        limits: (x, p) =>
          walk(object(x, p), p, {
            cpu: (y, q) => flags.push('--cpus', String(milliCpu(y, q) / 1000)),
            memory: (y, q) => flags.push('--memory', String(memoryBytes(y, q))),
          }),
      }),
    securityContext: (v, path) =>
      walk(object(v, path), path, {
        allowPrivilegeEscalation: (x) => {
          if (x === false) flags.push('--security-opt', 'no-new-privileges');
        },
        readOnlyRootFilesystem: (x) => (readOnlyRoot = x === true),
        capabilities: (x, p) =>
          walk(object(x, p), p, {
            drop: (y, q) => {
              for (const [i, c] of (y as unknown[]).entries())
                flags.push('--cap-drop', capabilityName(c, `${q}[${i}]`));
            },
            add: (y, q) => {
              for (const [i, c] of (y as unknown[]).entries())
                flags.push('--cap-add', capabilityName(c, `${q}[${i}]`));
            },
          }),
        privileged: (x) => {
          if (x === true) flags.push('--privileged');
        },
        runAsNonRoot: (x) => (security.runAsNonRoot = x),
        runAsUser: (x, p) => (security.runAsUser = integer(x, p)),
        runAsGroup: (x, p) => (security.runAsGroup = integer(x, p)),
        seccompProfile: (x, p) => (security.seccompProfile = object(x, p)),
      }),
    volumeMounts: (v, path) => volumeMounts.push(...list(v, path)),
  });

  for (const [probeValue, ref] of probePorts) {
    const port = typeof ref === 'string' ? portsByName.get(ref) : ref;
    if (typeof port !== 'number')
      throw new UntranslatableFieldError('probe.httpGet.port', `no container port ${String(ref)}`);
    probeValue.containerPort = port;
  }

  // User and groups. runAsNonRoot is enforced as kubelet does: refuse to start as uid 0.
  const imageUid = /^\d+/.exec(context.imageUser)?.[0];
  const uid =
    (security.runAsUser as number | undefined) ?? (imageUid !== undefined ? Number(imageUid) : undefined);
  if (security.runAsNonRoot === true && (uid === undefined || uid === 0))
    throw new UntranslatableFieldError(
      'securityContext.runAsNonRoot',
      `the container would run as ${uid === 0 ? 'root' : `non-numeric user '${context.imageUser}'`}`,
    );
  const imageGid = /^\d+:(\d+)$/.exec(context.imageUser)?.[1];
  const gid = (security.runAsGroup as number | undefined) ?? (imageGid !== undefined ? Number(imageGid) : 0);
  if (uid !== undefined) flags.push('--user', `${uid}:${gid}`);
  const fsGroup = security.fsGroup as number | undefined;
  for (const group of [
    ...(fsGroup !== undefined ? [fsGroup] : []),
    ...((security.supplementalGroups as number[] | undefined) ?? []),
  ])
    flags.push('--group-add', String(group));
  if (security.seccompProfile) {
    const profile = security.seccompProfile as Json;
    walk(profile, 'securityContext.seccompProfile', { type: ignore });
    // RuntimeDefault is podman's default seccomp profile (applied without a flag).
    if (profile.type === 'Unconfined') flags.push('--security-opt', 'seccomp=unconfined');
    else if (profile.type !== 'RuntimeDefault')
      throw new UntranslatableFieldError('securityContext.seccompProfile.type', String(profile.type));
  }
  if (readOnlyRoot) flags.push('--read-only', '--read-only-tmpfs=false');

  // Volumes: each mount's volume, written as kubelet writes it.
  for (const [i, mount] of volumeMounts.entries()) {
    const path = `volumeMounts[${i}]`;
    walk(mount, path, { name: ignore, mountPath: ignore, readOnly: ignore, subPath: ignore });
    const volume = volumes.get(String(mount.name));
    if (!volume) throw new UntranslatableFieldError(path, `no volume named ${String(mount.name)}`);
    const kinds = Object.keys(volume).filter((k) => k !== 'name');
    if (kinds.length !== 1 || !['secret', 'configMap', 'emptyDir'].includes(kinds[0] as string))
      throw new UntranslatableFieldError(
        `volumes[${String(mount.name)}]`,
        `volume source ${kinds.join(',')}`,
      );
    let hostPath = context.volumeDir(volume, fsGroup);
    if (mount.subPath) hostPath = `${hostPath}/${String(mount.subPath)}`;
    // Secret and ConfigMap volumes are always read-only in Kubernetes.
    const readOnly = mount.readOnly === true || kinds[0] !== 'emptyDir';
    flags.push('--volume', `${hostPath}:${String(mount.mountPath)}:${readOnly ? 'ro' : 'rw'}`);
    mounts.push({ volume: String(mount.name), hostPath, mountPath: String(mount.mountPath), readOnly });
  }

  // The ServiceAccount token, CA and namespace, as the kube-api-access projected volume.
  const mountToken = automount ?? context.serviceAccountAutomount(serviceAccountName);
  if (mountToken) {
    const hostPath = context.serviceAccountDir(serviceAccountName, fsGroup);
    flags.push('--volume', `${hostPath}:${SERVICE_ACCOUNT_PATH}:ro`);
    mounts.push({ volume: 'kube-api-access', hostPath, mountPath: SERVICE_ACCOUNT_PATH, readOnly: true });
  }

  // Environment: what kubelet injects for the kubernetes Service, then the container's own.
  env.KUBERNETES_SERVICE_HOST = context.apiServer.host;
  env.KUBERNETES_SERVICE_PORT = String(context.apiServer.port);
  env.KUBERNETES_SERVICE_PORT_HTTPS = String(context.apiServer.port);
  for (const [i, entry] of envEntries.entries()) {
    const path = `env[${i}]`;
    const name = String(entry.name);
    if ('value' in entry) {
      walk(entry, path, { name: ignore, value: ignore });
      env[name] = String(entry.value ?? '');
      continue;
    }
    walk(entry, path, {
      name: ignore,
      valueFrom: (v, p) =>
        walk(object(v, p), p, {
          fieldRef: (x, q) => {
            const field = object(x, q).fieldPath;
            walk(object(x, q), q, { fieldPath: ignore, apiVersion: ignore });
            if (field === 'metadata.name') env[name] = context.podName;
            else if (field === 'metadata.namespace') env[name] = context.namespace;
            else throw new UntranslatableFieldError(`${q}.fieldPath`, String(field));
          },
          secretKeyRef: (x, q) => {
            const ref = object(x, q);
            walk(ref, q, { name: ignore, key: ignore });
            env[name] = context.keyValue('Secret', String(ref.name), String(ref.key));
          },
          configMapKeyRef: (x, q) => {
            const ref = object(x, q);
            walk(ref, q, { name: ignore, key: ignore });
            env[name] = context.keyValue('ConfigMap', String(ref.name), String(ref.key));
          },
        }),
    });
  }
  for (const [name, value] of Object.entries(env)) flags.push('--env', `${name}=${value}`);

  flags.push('--hostname', context.podName, ...context.networkFlags);
  for (const port of ports) flags.push('--publish', `127.0.0.1::${port.containerPort}/tcp`);
  flags.push('--stop-timeout', String(terminationGracePeriodSeconds));

  return {
    flags,
    args,
    env,
    ports,
    ...(readinessProbe ? { readinessProbe } : {}),
    ...(livenessProbe ? { livenessProbe } : {}),
    terminationGracePeriodSeconds,
    mounts,
    user: { uid: uid ?? 0, gid },
  };
}
