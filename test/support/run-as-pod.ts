/**
 * Runs one container of a Deployment, as the API server stores it after `helm install`, as a local
 * process of the project's built binary (`dist/cli/main.js`), the way a kubelet would run it:
 * its args (and node flags, when its command is the image's entrypoint with flags), its env
 * (values, Secret keys, the pod name), its Secret and emptyDir volumes (written to a private
 * directory; env values under a mount path follow it), and the identity of its
 * ServiceAccount through a token the API server issued (TokenRequest). Anything in the spec this
 * runner does not understand fails loudly instead of being dropped. The image itself is run by
 * test/ship with podman; this runner proves the chart's RBAC and wiring against a real API server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeClient, KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { imageEntrypoint } from './image-entrypoint.js';
import { PROJECT_ROOT } from './kubectl.js';
import { freePort } from '../../src/playground/control-plane/free-port.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    fieldRef?: { fieldPath: string };
  };
}
interface Container {
  name: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  ports?: Array<{ name?: string; containerPort: number }>;
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface Volume {
  name: string;
  secret?: { secretName: string; items?: Array<{ key: string; path: string }>; defaultMode?: number };
  emptyDir?: Record<string, unknown>;
}
interface PodSpec {
  serviceAccountName?: string;
  containers: Container[];
  volumes?: Volume[];
}

export interface RunningPod {
  /** Loopback port per container port name. */
  ports: Record<string, number>;
  /** Everything the process wrote to stdout and stderr. */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** SIGTERM (as the kubelet sends), then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * The node flags of a container `command`: the only override understood is the image's own
 * entrypoint (the Dockerfile's ENTRYPOINT, node then the program) with flags between the two, as
 * the chart's `controller.nodeFlags` renders it. Anything else replaces the entrypoint and fails.
 */
function nodeFlagsOf(command: string[] | undefined): string[] {
  if (!command) return [];
  const entrypoint = imageEntrypoint();
  const [node, program] = entrypoint;
  const flags = command.slice(1, -1);
  if (
    entrypoint.length !== 2 ||
    command[0] !== node ||
    command[command.length - 1] !== program ||
    !flags.every((flag) => flag.startsWith('--'))
  )
    throw new Error(
      `command ${JSON.stringify(command)} is not the image's entrypoint ${JSON.stringify(entrypoint)} with node flags: not supported`,
    );
  return flags;
}

/**
 * Start `container` of `deployment`. `serviceAccountKubeconfig` makes the kubeconfig of the pod's
 * ServiceAccount; `env` overrides variables (say why at the call site).
 */
export async function runAsPod(options: {
  kube: KubeClient;
  deployment: KubeObject;
  container: string;
  workDir: string;
  serviceAccountKubeconfig: (namespace: string, name: string) => Promise<string>;
  env?: Record<string, string>;
}): Promise<RunningPod> {
  const { kube, deployment, workDir } = options;
  const namespace = deployment.metadata.namespace ?? 'default';
  const spec = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
  const container = spec.containers.find((c) => c.name === options.container);
  if (!container) throw new Error(`${deployment.metadata.name} has no container ${options.container}`);
  const nodeFlags = nodeFlagsOf(container.command);
  mkdirSync(workDir, { recursive: true, mode: 0o700 });

  // Volumes: each mount path becomes a private directory.
  const mounts = new Map<string, string>();
  for (const mount of container.volumeMounts ?? []) {
    const volume = spec.volumes?.find((v) => v.name === mount.name);
    if (!volume) throw new Error(`volume ${mount.name} is mounted but not defined`);
    const dir = join(workDir, 'volumes', mount.name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (volume.secret) {
      const secret = await kube.get<KubeObject>(RESOURCE_TYPES.secrets, namespace, volume.secret.secretName);
      if (!secret)
        throw new Error(`Secret ${volume.secret.secretName} (volume ${volume.name}) does not exist`);
      const data = (secret.data ?? {}) as Record<string, string>;
      const items = volume.secret.items ?? Object.keys(data).map((key) => ({ key, path: key }));
      for (const item of items) {
        if (data[item.key] === undefined)
          throw new Error(`Secret ${volume.secret.secretName} has no key ${item.key}`);
        writeFileSync(join(dir, item.path), Buffer.from(data[item.key] as string, 'base64'), {
          mode: volume.secret.defaultMode ?? 0o644,
        });
      }
    } else if (!volume.emptyDir) {
      throw new Error(`volume ${volume.name}: only secret and emptyDir volumes are understood`);
    }
    mounts.set(mount.mountPath, dir);
  }
  const local = (value: string): string => {
    for (const [mountPath, dir] of mounts)
      if (value === mountPath || value.startsWith(`${mountPath}/`))
        return dir + value.slice(mountPath.length);
    return value;
  };

  // Ports: a free loopback port for each container port; listen settings that name it follow.
  const ports: Record<string, number> = {};
  const portByNumber = new Map<number, number>();
  for (const port of container.ports ?? []) {
    const localPort = await freePort();
    ports[port.name ?? String(port.containerPort)] = localPort;
    portByNumber.set(port.containerPort, localPort);
  }

  const podName = `${deployment.metadata.name}-local-${process.pid}`;
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    let value: string;
    // An empty value is omitted by the API server: neither value nor valueFrom means "".
    if (variable.value !== undefined || variable.valueFrom === undefined) value = variable.value ?? '';
    else if (variable.valueFrom?.secretKeyRef) {
      const ref = variable.valueFrom.secretKeyRef;
      const secret = await kube.get<KubeObject>(RESOURCE_TYPES.secrets, namespace, ref.name);
      const data = (secret?.data ?? {}) as Record<string, string>;
      if (data[ref.key] === undefined)
        throw new Error(`env ${variable.name}: Secret ${ref.name} has no key ${ref.key}`);
      value = Buffer.from(data[ref.key] as string, 'base64').toString('utf8');
    } else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.name') value = podName;
    else if (variable.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') value = namespace;
    else throw new Error(`env ${variable.name}: ${JSON.stringify(variable.valueFrom)} is not understood`);
    // `0.0.0.0:PORT` listens on the pod's port: here, its loopback stand-in.
    const listen = /^0\.0\.0\.0:(\d+)$/.exec(value);
    if (listen) {
      const mapped = portByNumber.get(Number(listen[1]));
      if (mapped === undefined)
        throw new Error(`env ${variable.name} listens on ${value}, which is no container port`);
      value = `127.0.0.1:${mapped}`;
    }
    env[variable.name] = local(value);
  }
  const kubeconfigPath = join(workDir, 'serviceaccount.kubeconfig');
  writeFileSync(
    kubeconfigPath,
    await options.serviceAccountKubeconfig(namespace, spec.serviceAccountName ?? 'default'),
    { mode: 0o600 },
  );

  let output = '';
  const child: ChildProcess = spawn(
    join(PROJECT_ROOT, 'node_modules', '.bin', 'node'),
    [...nodeFlags, join(PROJECT_ROOT, 'dist', 'cli', 'main.js'), ...(container.args ?? [])],
    {
      cwd: workDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: workDir,
        KUBECONFIG: kubeconfigPath,
        ...env,
        ...options.env,
      },
    },
  );
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    ports,
    output: () => output,
    exited,
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
