/**
 * One playground per state dir. Two playgrounds on one dir would overwrite each other's kubeconfig
 * and playground.json, and the first to stop would delete the other's playground.json. The lock is
 * a file created exclusively (`O_EXCL`) holding the owner's pid: a second start fails at once and
 * names that pid; a lock left by a process that no longer exists (killed, machine restarted) is
 * taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** File name of the lock inside the state dir. */
export const LOCK_FILE = 'playground.lock';

/** The state dir is in use by a running process. */
export class StateDirLockedError extends Error {
  constructor(
    readonly stateDir: string,
    readonly pid: number,
  ) {
    super(
      `another playground (pid ${pid}) is running with --state-dir ${stateDir}: stop it first (kill ${pid}), ` +
        `or start this one with another --state-dir`,
    );
    this.name = 'StateDirLockedError';
  }
}

export interface StateDirLock {
  /** Remove the lock (only while it is still this process's). */
  release(): void;
}

/** True when a process with this pid exists (EPERM: it exists, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownerOf(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Take the state dir's lock for this process, or throw StateDirLockedError naming the holder. */
export function lockStateDir(stateDir: string, pid = process.pid): StateDirLock {
  const path = join(stateDir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, `${pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
      const owner = ownerOf(path);
      if (owner !== undefined && owner !== pid && alive(owner))
        throw new StateDirLockedError(stateDir, owner);
      // Stale (its process is gone) or unreadable: take it over. A racing starter that removes
      // it first makes our exclusive create fail again, and the loop looks once more.
      rmSync(path, { force: true });
    }
  }
  return {
    release() {
      if (ownerOf(path) === pid) rmSync(path, { force: true });
    },
  };
}
