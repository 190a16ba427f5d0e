/**
 * CPU time of the bench's processes while one row runs, from Linux's `/proc`: how much work each
 * process did per request, and how busy the whole machine was. A rate is bound by CPU when one
 * process sits at a whole core (one event loop) or the machine has no idle vCPU left; these
 * figures say which, in every run, instead of a `top` read by hand.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of `/proc` times: USER_HZ, fixed at 100 in Linux's ABI. */
const USER_HZ = 100;

/** CPU of one row. */
export interface RowCpu {
  /** Milliseconds of CPU (user + system, all threads) per request, by process group. */
  msPerRequest: Record<string, number>;
  /** Busy vCPUs over the row, machine-wide (everything but idle and iowait). */
  busyCpus: number;
  /** Each group's CPU over the row's wall time: 1 is one core all the time. */
  coresUsed: Record<string, number>;
}

/** A started measurement. */
export interface CpuMeter {
  /** CPU since the meter started, for `requests` requests. */
  stop(requests: number): RowCpu;
}

/** User + system seconds a process has used (all its threads); 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; the fields after it are plain.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the name and state.
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return 0;
  }
}

/** Busy and total ticks of all CPUs since boot (`/proc/stat`); zeros where it cannot be read. */
function machineTicks(): { busy: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((sum, value) => sum + value, 0);
    return { busy: total - ticks[3]! - ticks[4]!, total };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/** Start measuring the named groups of processes (a group's figure is the sum of its pids). */
export function startCpuMeter(groups: Record<string, number[]>): CpuMeter {
  const cpuOf = (pids: number[]): number => pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
  const before = Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, cpuOf(pids)]));
  const machineBefore = machineTicks();
  const started = performance.now();
  return {
    stop(requests) {
      const seconds = (performance.now() - started) / 1000;
      const machine = machineTicks();
      const msPerRequest: Record<string, number> = {};
      const coresUsed: Record<string, number> = {};
      for (const [name, pids] of Object.entries(groups)) {
        const used = cpuOf(pids) - before[name]!;
        msPerRequest[name] = (used * 1000) / Math.max(1, requests);
        coresUsed[name] = used / Math.max(seconds, 1e-9);
      }
      const busyTicks = machine.busy - machineBefore.busy;
      // Ticks of all CPUs together over the row's wall time give the busy vCPU count.
      const busyCpus = busyTicks / USER_HZ / Math.max(seconds, 1e-9);
      return { msPerRequest, busyCpus, coresUsed };
    },
  };
}
