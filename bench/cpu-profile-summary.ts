/**
 * `node dist-bench/bench/cpu-profile-summary.js DIR [TOP]`: for every V8 CPU profile a bench run
 * wrote with `BENCH_CPU_PROFILE_DIR=DIR`, the process's sampled time and the functions with the
 * most self time (name, file:line, share of samples), so a missed target can be read off a profile.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

const [dir, topArg] = process.argv.slice(2);
if (!dir) throw new Error('usage: cpu-profile-summary.js DIR [TOP]');
const top = Number(topArg ?? 12);
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.cpuprofile'))
  .sort((a, b) => statSync(join(dir, a)).mtimeMs - statSync(join(dir, b)).mtimeMs)) {
  const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
  const self = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^.*\/(node_modules|dist-bench)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + hits);
  }
  const seconds = (profile.endTime - profile.startTime) / 1e6;
  const idle = self.get('(idle)') ?? 0;
  process.stdout.write(
    `\n${file}: ${seconds.toFixed(1)} s profiled, busy ${(((total - idle) / Math.max(1, total)) * 100).toFixed(0)}% of samples\n`,
  );
  for (const [key, hits] of [...self.entries()]
    .filter(([key]) => key !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top))
    process.stdout.write(`  ${((hits / Math.max(1, total)) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
}
