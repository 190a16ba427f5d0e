/**
 * Containers for the container test: `podman run` attached (its output is the container's log, its
 * exit is the container's exit), plus the podman commands the test inspects containers with. Every
 * call uses the project's podman settings (scripts/image/podman.mjs).
 */
import { spawn } from 'node:child_process';
import { ULIMIT_ARGS, podman, podmanGlobalArgs } from '../../../scripts/image/podman.mjs';

export interface ContainerExit {
  code: number | null;
  /** When podman run returned (ms since the epoch). */
  at: number;
}

export interface RunningContainer {
  readonly name: string;
  /** Everything the container printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when the container's process has ended. */
  readonly exited: Promise<ContainerExit>;
  /** The host loopback port a container port is published on (waits until podman knows it). */
  hostPort(containerPort: number): Promise<number>;
  /** Remove the container (killing it if it still runs). */
  remove(): void;
}

/** Run a podman command with the project's settings; throws with its output unless it exits 0. */
export function podmanOk(args: string[], timeoutMs = 60_000): string {
  const result = podman(args, { timeoutMs });
  if (result.status !== 0)
    throw new Error(
      `podman ${args.join(' ')} exited ${result.status}: ${result.stderr || String(result.error)}`,
    );
  return result.stdout;
}

/** `podman run --name NAME FLAGS IMAGE ARGS`, attached. */
export function runContainer(name: string, flags: string[], image: string, args: string[]): RunningContainer {
  const child = spawn(
    'podman',
    [...podmanGlobalArgs(), 'run', '--name', name, ...ULIMIT_ARGS, ...flags, image, ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<ContainerExit>((resolve) => {
    child.on('close', (code) => resolve({ code, at: Date.now() }));
    child.on('error', () => resolve({ code: null, at: Date.now() }));
  });
  let done = false;
  void exited.then(() => (done = true));

  return {
    name,
    output: () => output,
    exited,
    async hostPort(containerPort) {
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        if (done)
          throw new Error(`container ${name} ended before publishing port ${containerPort}:\n${output}`);
        const result = podman(['port', name, `${containerPort}/tcp`], { timeoutMs: 30_000 });
        const port = /:(\d+)\s*$/.exec(result.stdout.trim())?.[1];
        if (result.status === 0 && port) return Number(port);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new Error(`container ${name} did not publish port ${containerPort} within 120 s:\n${output}`);
    },
    remove() {
      podman(['rm', '--force', '--time', '0', name], { timeoutMs: 120_000 });
    },
  };
}

/** Run a container to completion and return its exit code and output. */
export async function runToCompletion(
  name: string,
  flags: string[],
  image: string,
  args: string[],
): Promise<{ code: number | null; output: string }> {
  const container = runContainer(name, flags, image, args);
  const { code } = await container.exited;
  const output = container.output();
  container.remove();
  return { code, output };
}

/**
 * Wait until GET `url` answers 200, as kubelet's HTTP probe would; fails early when the container
 * ends, with its output.
 */
export async function waitForHttpOk(
  url: string,
  container: RunningContainer,
  timeoutMs: number,
): Promise<void> {
  let ended = false;
  void container.exited.then(() => (ended = true));
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (ended)
      throw new Error(`container ${container.name} ended before ${url} was ready:\n${container.output()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      last = `HTTP ${response.status}`;
      if (response.status === 200) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `${url} not ready within ${timeoutMs} ms (${last}); ${container.name} printed:\n${container.output()}`,
  );
}
