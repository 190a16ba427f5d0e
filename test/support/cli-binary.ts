/**
 * The real `keyless-deploy` binary in a child process, as a user runs it. The sources are compiled
 * once per content (TypeScript's own emitter, without type checks, which `npm run typecheck` does)
 * into `.test-build/<hash>/dist`, beside a link to `crds/` and `package.json` as in a checkout, so
 * the binary resolves its dependencies from the project's node_modules like `dist/` does.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { PROJECT_ROOT } from './kubectl.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sources(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

let built: string | undefined;

/** Path of the compiled `bin.js` (what package.json's `bin` names), compiled on first use. */
export function cliBinary(): string {
  if (built) return built;
  const src = join(PROJECT_ROOT, 'src');
  const files = sources(src).sort();
  const hash = createHash('sha256');
  for (const file of files) hash.update(relative(src, file)).update('\0').update(readFileSync(file));
  const root = join(PROJECT_ROOT, '.test-build', hash.digest('hex').slice(0, 16));
  const bin = join(root, 'dist', 'cli', 'bin.js');
  if (!existsSync(bin)) {
    // Built in a private directory and renamed into place, so parallel workers never see half a build.
    const scratch = `${root}.${process.pid}.${Date.now()}`;
    const options = ts.readConfigFile(join(PROJECT_ROOT, 'tsconfig.json'), ts.sys.readFile).config as {
      compilerOptions: object;
    };
    const { options: converted } = ts.convertCompilerOptionsFromJson(
      { ...options.compilerOptions, sourceMap: false },
      PROJECT_ROOT,
    );
    // One file at a time, TypeScript cannot see package.json's "type": "module": say it.
    const compilerOptions = { ...converted, module: ts.ModuleKind.ESNext };
    for (const file of files) {
      const out = join(scratch, 'dist', relative(src, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(out), { recursive: true });
      const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
        compilerOptions,
        fileName: file,
      });
      writeFileSync(out, outputText);
    }
    symlinkSync(join(PROJECT_ROOT, 'crds'), join(scratch, 'crds'));
    symlinkSync(join(PROJECT_ROOT, 'package.json'), join(scratch, 'package.json'));
    try {
      renameSync(scratch, root);
    } catch (error) {
      rmSync(scratch, { recursive: true, force: true });
      if (!existsSync(bin)) throw error;
    }
  }
  built = bin;
  return bin;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run `keyless-deploy ARGS` in a child process; resolves when it exits. */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; timeoutMs?: number; cwd?: string } = {},
): Promise<CliRun> {
  const bin = cliBinary();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), bin, ...args], {
      cwd: options.cwd ?? PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? -1 : 0), stdout, stderr });
    });
  });
}

export interface RunningCli {
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (or -1 when killed by a signal). */
  exited: Promise<number>;
  /** Send a signal (default SIGTERM) and wait for the exit. */
  stop: (signal?: NodeJS.Signals) => Promise<number>;
}

/** Start `keyless-deploy ARGS` in the background (the playground); stop it with `stop()`. */
export function spawnCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): RunningCli {
  const child = spawn(process.execPath, [cliBinary(), ...args], {
    cwd: options.cwd ?? PROJECT_ROOT,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  return {
    pid: child.pid as number,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    stop: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
