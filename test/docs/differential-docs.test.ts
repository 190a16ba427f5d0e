/**
 * docs/embedded-api-server.md's "Measured differences" section is generated from the differential
 * suite's last full run (test/conformance/results.json) and the accepted differences with their
 * reasons (test/conformance/accepted-differences.json): this checks that the section is what those
 * files say, and that the two files agree with each other (every difference of the run is
 * accepted, every accepted difference was seen), without a cluster.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../support/kubectl.js';

interface Results {
  scenarios: number;
  equal: number;
  different: Array<{ scenario: string; differences: Array<{ location: string }> }>;
}
interface Accepted {
  scenario: string;
  locations: string[];
  reason: string;
}

const read = <T>(file: string): T =>
  JSON.parse(readFileSync(join(PROJECT_ROOT, 'test', 'conformance', file), 'utf8')) as T;

describe('the differential section of docs/embedded-api-server.md', () => {
  test('is what npm run docs:differential generates from the results and the accepted differences', () => {
    const check = spawnSync(
      process.execPath,
      [join(PROJECT_ROOT, 'scripts', 'differential-docs.mjs'), '--check'],
      {
        encoding: 'utf8',
      },
    );
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  test('every difference of the last run is accepted with a reason, and every accepted one was seen', () => {
    const results = read<Results>('results.json');
    const accepted = read<Accepted[]>('accepted-differences.json');
    const seen = results.different.map((outcome) => ({
      scenario: outcome.scenario,
      locations: outcome.differences.map((difference) => difference.location).sort(),
    }));
    const listed = accepted.map((entry) => ({
      scenario: entry.scenario,
      locations: [...entry.locations].sort(),
    }));
    const byName = (a: { scenario: string }, b: { scenario: string }): number =>
      a.scenario.localeCompare(b.scenario);
    expect(seen.sort(byName)).toEqual(listed.sort(byName));
    expect(accepted.filter((entry) => entry.reason.trim().length < 20)).toEqual([]);
    expect(results.equal + results.different.length).toBe(results.scenarios);
    expect(results.scenarios).toBeGreaterThanOrEqual(60);
  });
});
