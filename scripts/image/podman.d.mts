/** Types of podman.mjs (a plain script so that `npm run image` needs no compiler). */
import type { SpawnSyncReturns } from 'node:child_process';

export declare const PODMAN_STORAGE_DRIVER: string;
export declare const PODMAN_ROOT: string;
export declare const PODMAN_RUNROOT: string;
export declare function podmanGlobalArgs(): string[];
export declare const ULIMIT_ARGS: string[];
export declare function podman(
  args: string[],
  options?: { timeoutMs?: number; input?: string; stdio?: 'pipe' | 'inherit' },
): SpawnSyncReturns<string>;
export declare function podmanProblem(): string | undefined;
