// How this project drives podman, in one place for `npm run image`, the container test and
// .ci/run. Facts behind each setting are in docs/operations.md ("The image on a machine without
// Docker"): rootful podman with the vfs storage driver by default, its own storage root (a
// store created with another driver refuses vfs, so we never share the machine's default store),
// runc with cgroupfs (crun refuses hybrid cgroup layouts), and explicit ulimits (podman's defaults
// exceed the machines' hard limits).
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/**
 * Storage driver: vfs, which works everywhere (every layer a full copy, so slow and large).
 * KEYLESS_PODMAN_STORAGE_DRIVER=overlay is much faster where the kernel allows it.
 */
export const PODMAN_STORAGE_DRIVER = process.env.KEYLESS_PODMAN_STORAGE_DRIVER || 'vfs';
/** Image layers and build cache; kept between runs so a second build is fast. */
export const PODMAN_ROOT =
  process.env.KEYLESS_PODMAN_ROOT ||
  `/var/tmp/keyless-deploy/podman${PODMAN_STORAGE_DRIVER === 'vfs' ? '' : `-${PODMAN_STORAGE_DRIVER}`}`;
/** Run state (on tmpfs, so a reboot never leaves stale container state behind). */
export const PODMAN_RUNROOT =
  process.env.KEYLESS_PODMAN_RUNROOT ||
  `/run/keyless-deploy/podman${PODMAN_STORAGE_DRIVER === 'vfs' ? '' : `-${PODMAN_STORAGE_DRIVER}`}`;

/** Global flags for every podman command. */
export function podmanGlobalArgs() {
  return [
    '--root',
    PODMAN_ROOT,
    '--runroot',
    PODMAN_RUNROOT,
    '--storage-driver',
    PODMAN_STORAGE_DRIVER,
    '--cgroup-manager',
    'cgroupfs',
    '--runtime',
    'runc',
  ];
}

/** Resource limits within the machines' hard limits (both for builds and for containers). */
export const ULIMIT_ARGS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1000:1000'];

/**
 * Run podman with the global flags; returns spawnSync's result with text output.
 * @param {string[]} args
 * @param {{ timeoutMs?: number, input?: string, stdio?: 'pipe' | 'inherit' }} [options]
 */
export function podman(args, options = {}) {
  return spawnSync('podman', [...podmanGlobalArgs(), ...args], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    input: options.input,
    stdio: options.stdio === 'inherit' ? ['ignore', 'inherit', 'inherit'] : 'pipe',
    maxBuffer: 64 * 1024 * 1024,
  });
}

/**
 * Why podman cannot build and run this project's image on this machine, or undefined when it can.
 * Checked: Linux, root (rootful podman; the container test also chowns Secret files as kubelet
 * does), podman and runc installed, and podman answering with this project's storage settings.
 * @returns {string | undefined}
 */
export function podmanProblem() {
  if (process.platform !== 'linux')
    return `podman runs containers on Linux only (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return 'rootful podman is needed (run as root); rootless storage and id mapping are not set up here';
  const version = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  if (version.error || version.status !== 0)
    return 'podman is not installed (Debian: apt-get install -y podman runc)';
  const runc = spawnSync('runc', ['--version'], { encoding: 'utf8' });
  if (runc.error || runc.status !== 0) return 'runc is not installed (Debian: apt-get install -y runc)';
  const info = podman(['info', '--format', '{{.Store.GraphDriverName}}'], { timeoutMs: 60_000 });
  if (info.error || info.status !== 0)
    return `podman does not work with this project's settings: ${(info.stderr || String(info.error)).trim()}`;
  return undefined;
}

// `node scripts/image/podman.mjs probe`: exit 0 when podman works here, else print why and exit 3.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv[2] !== 'probe') {
    console.error('usage: node scripts/image/podman.mjs probe');
    process.exit(2);
  }
  const problem = podmanProblem();
  if (problem) {
    console.log(problem);
    process.exit(3);
  }
  const version = spawnSync('podman', ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`${version}, runc, ${PODMAN_STORAGE_DRIVER} storage in ${PODMAN_ROOT}`);
}
