/**
 * The differential suite (`npm run test:cluster`): every scenario of test/conformance/scenarios
 * runs against the embedded API server and against the real kube-apiserver of the run, each time
 * in a fresh namespace, and their normalised transcripts are compared. A scenario fails when the
 * servers differ anywhere test/conformance/accepted-differences.json does not accept (with its
 * reason), or when an accepted difference is gone (so the list stays true). After a full run the
 * table is printed and test/conformance/results.json written; `npm run docs:differential` turns
 * that into the section of docs/embedded-api-server.md.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { installApprovalAdmission } from '../../src/playground/playground.js';
import { PROJECT_ROOT } from '../support/kubectl.js';
import { realTestCluster } from '../support/test-cluster.js';
import { compareTranscripts, type Difference } from './compare.js';
import { runScenario } from './runner.js';
import { SCENARIOS } from './scenarios/index.js';
import { createTarget, type Target } from './targets.js';

interface AcceptedDifference {
  scenario: string;
  locations: string[];
  reason: string;
}

interface Outcome {
  scenario: string;
  area: string;
  differences: Difference[];
}

const HERE = join(PROJECT_ROOT, 'test', 'conformance');
const accepted = JSON.parse(
  readFileSync(join(HERE, 'accepted-differences.json'), 'utf8'),
) as AcceptedDifference[];
const acceptedFor = new Map(accepted.map((entry) => [entry.scenario, entry]));
// Unique per run: an existing cluster may still be deleting an earlier run's namespaces.
const run = randomBytes(3).toString('hex');
const outcomes: Outcome[] = [];
let server: EmbeddedApiServer | undefined;
let embedded: Target;
let real: Target;
let realVersion = '';
const started = Date.now();

async function setUp(target: Target): Promise<void> {
  for (const args of [
    ['apply', '-f', join(PROJECT_ROOT, 'crds')],
    [
      'wait',
      '--for=condition=established',
      '--timeout=30s',
      'crd/deployrequests.keyless.dev',
      'crd/deploypolicies.keyless.dev',
    ],
  ]) {
    const result = await target.kubectl(args);
    if (result.code !== 0) throw new Error(`${target.name}: kubectl ${args.join(' ')}: ${result.stderr}`);
  }
  await installApprovalAdmission(target.kube);
}

async function inNamespace<T>(target: Target, namespace: string, run: () => Promise<T>): Promise<T> {
  const created = await target.http('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
  });
  if (created.code !== 201)
    throw new Error(`${target.name}: namespace ${namespace}: ${JSON.stringify(created.body)}`);
  try {
    return await run();
  } finally {
    // Not waited for: the namespace controller finishes on its own.
    await target.http('DELETE', `/api/v1/namespaces/${namespace}`);
  }
}

beforeAll(async () => {
  const cluster = realTestCluster();
  if (!cluster)
    throw new Error('the differential suite needs a real cluster: run it with npm run test:cluster');
  server = await startEmbeddedApiServer({ workloads: { stepMs: 0 } });
  embedded = createTarget('embedded', server.kubeconfig());
  real = createTarget('real', cluster.kubeconfig);
  await Promise.all([setUp(embedded), setUp(real)]);
  realVersion = String(((await real.http('GET', '/version')).body as { gitVersion?: string }).gitVersion);
}, 120_000);

afterAll(async () => {
  await server?.close();
  if (outcomes.length === 0) return;
  const different = outcomes.filter((outcome) => outcome.differences.length > 0);
  const lines = [
    '',
    `Differential suite: embedded API server vs kube-apiserver ${realVersion}, ${((Date.now() - started) / 1000).toFixed(0)} s`,
    `scenarios ${outcomes.length}, equal ${outcomes.length - different.length}, different ${different.length}`,
    '',
    `${'scenario'.padEnd(36)} ${'area'.padEnd(14)} result`,
    ...outcomes.map((outcome) => {
      const first = outcome.differences[0];
      const verdict = first
        ? `DIFFERENT${acceptedFor.has(outcome.scenario) ? ' (accepted)' : ''}: ${first.location}: embedded ${first.embedded}, real ${first.real}${outcome.differences.length > 1 ? ` (+${outcome.differences.length - 1} more)` : ''}`
        : 'equal';
      return `${outcome.scenario.padEnd(36)} ${outcome.area.padEnd(14)} ${verdict}`;
    }),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  // Only a complete run describes the servers (a -t filtered run does not).
  if (outcomes.length === SCENARIOS.length) {
    const results = {
      kubernetes: realVersion,
      scenarios: outcomes.length,
      equal: outcomes.length - different.length,
      different: different.map((outcome) => ({
        scenario: outcome.scenario,
        area: outcome.area,
        differences: outcome.differences,
      })),
    };
    writeFileSync(join(HERE, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  }
});

describe('differential: embedded API server vs real kube-apiserver', () => {
  test('the accepted differences name scenarios that exist, each with a reason', () => {
    const names = new Set(SCENARIOS.map((scenario) => scenario.name));
    expect(accepted.filter((entry) => !names.has(entry.scenario) || entry.reason.trim().length < 20)).toEqual(
      [],
    );
    expect(names.size).toBe(SCENARIOS.length);
  });

  test.each(SCENARIOS.map((scenario, index) => [scenario.name, scenario, index] as const))(
    '%s',
    async (_name, scenario, index) => {
      const namespace = `dt-${run}-${index}`;
      const [onEmbedded, onReal] = await Promise.all([
        inNamespace(embedded, namespace, () => runScenario(embedded, scenario, namespace)),
        inNamespace(real, namespace, () => runScenario(real, scenario, namespace)),
      ]);
      const differences = compareTranscripts(onEmbedded, onReal);
      outcomes.push({ scenario: scenario.name, area: scenario.area, differences });
      const acceptedLocations = new Set(acceptedFor.get(scenario.name)?.locations ?? []);
      const found = new Set(differences.map((difference) => difference.location));
      expect({
        notAccepted: differences.filter((difference) => !acceptedLocations.has(difference.location)),
        acceptedButGone: [...acceptedLocations].filter((location) => !found.has(location)),
      }).toEqual({ notAccepted: [], acceptedButGone: [] });
    },
  );
});
