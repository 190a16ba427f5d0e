/** An in-memory CliIo for driving commands in tests. */
import type { CliIo } from '../../src/cli/cli-io.js';

export interface TestIo extends CliIo {
  out: () => string;
  err: () => string;
  /** Simulate SIGINT/SIGTERM. */
  stop: (signal?: string) => void;
}

export function testIo(env: NodeJS.ProcessEnv = {}): TestIo {
  let out = '';
  let err = '';
  let stop: (signal: string) => void = () => undefined;
  const stopSignal = new Promise<string>((resolve) => (stop = resolve));
  return {
    stdout: (text) => void (out += text),
    stderr: (text) => void (err += text),
    env,
    stopSignal,
    out: () => out,
    err: () => err,
    stop: (signal = 'SIGTERM') => stop(signal),
  };
}
