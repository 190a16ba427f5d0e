/** What a command needs from its process, injected so tests can drive commands in-process. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Resolves when the process is asked to stop (SIGINT/SIGTERM). */
  stopSignal: Promise<string>;
  /** Standard output is a terminal: progress may redraw one live line instead of printing lines. */
  stdoutIsTTY?: boolean;
}

/** Exit codes of every command. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;

/** A usage error: wrong flags or arguments (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
