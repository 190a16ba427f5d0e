/**
 * One control-plane component as a child process: started with fixed arguments, its output
 * appended to a log file, stopped with SIGTERM (then SIGKILL after a grace period) and started
 * again with the same arguments. Children are killed when this process exits, so a crashed test
 * run leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

/** The last lines of a log file, for error messages. */
export function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export class ManagedProcess {
  private child?: ChildProcess;
  private exited?: Promise<number | null>;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
    readonly logFile: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The running child's pid. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Start the process (its log is appended to). */
  start(): void {
    if (this.isRunning) throw new Error(`${this.name} is already running`);
    installExitHook();
    const log = openSync(this.logFile, 'a');
    const child = spawn(this.command, this.args, { stdio: ['ignore', log, log], env: this.env });
    closeSync(log);
    this.child = child;
    running.add(child);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => {
        running.delete(child);
        resolve(code);
      });
      child.once('error', () => {
        running.delete(child);
        resolve(-1);
      });
    });
  }

  /** Resolves with the exit code when the process ends (undefined when never started). */
  async exit(): Promise<number | null | undefined> {
    return this.exited;
  }

  /**
   * Wait until `ready()` is true, checking every 100 ms; fails at once when the process exits and
   * after `timeoutMs`, quoting the end of its log.
   */
  async waitReady(ready: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exitCode: number | null | undefined;
    void this.exited?.then((code) => (exitCode = code ?? -1));
    for (;;) {
      if (exitCode !== undefined)
        throw new Error(
          `${this.name} exited (code ${exitCode}) before it was ready:\n${logTail(this.logFile)}`,
        );
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline)
        throw new Error(`${this.name} was not ready within ${timeoutMs / 1000} s:\n${logTail(this.logFile)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || !this.isRunning) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL at once (a crash); resolves when the process is gone. */
  async kill(): Promise<void> {
    if (!this.child || !this.isRunning) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
