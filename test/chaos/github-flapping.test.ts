/**
 * Chaos for GitHub reporting: 100 dispatches over 20 workloads while the fake GitHub flaps between
 * up, down (503), primary and secondary rate limits and bursts of 500s, and the controller is
 * restarted halfway. Pass: every deploy ends as it would without GitHub (the last request per
 * workload wins), every request gets exactly one GitHub deployment, and each deployment shows
 * exactly the states its request implies, once each. The counts are printed.
 */
import { DEPLOY_PHASES, type DeployPhase } from '../../src/api/types.js';
import type { RunningController } from '../../src/controller/controller-manager.js';
import { needsReport } from '../../src/github/deployment-reporter.js';
import { desiredStates } from '../../src/github/deployment-states.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { startHarness, type Harness, type Request } from '../e2e/harness.js';
import { ACME_WEB, appDeployments, startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { waitUntil } from '../support/wait-until.js';

const WORKLOADS = 20;
const PER_WORKLOAD = 5;
let github: FakeGitHub;
let h: Harness;

beforeAll(async () => {
  github = await startFakeGitHub();
  github.install(ACME_WEB);
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
  await github.close();
});

test('GitHub flapping and a controller restart: deploys unaffected, every report exactly once', async () => {
  const startController = (): Promise<RunningController> =>
    h.controller({
      concurrency: 8,
      github: {
        deployments: appDeployments(github),
        retryBaseMs: 50,
        concurrency: 4,
      },
    });
  const namespaces = Array.from({ length: WORKLOADS }, (_, i) => `ghc-${i}`);
  for (const namespace of namespaces) await h.scenario(namespace);
  let controller = await startController();
  let restarts = 0;

  // The flapper (the chaos schedule, not a wait): a new GitHub mood every 150 ms.
  let flapping = true;
  const moods = ['up', 'down', 'up', 'primary', 'up', 'secondary', 'errors'] as const;
  const faults: Record<string, number> = {};
  const flapper = (async () => {
    for (let i = 0; flapping; i++) {
      const mood = moods[i % moods.length] as (typeof moods)[number];
      faults[mood] = (faults[mood] ?? 0) + 1;
      github.setDown(mood === 'down');
      if (mood === 'primary' || mood === 'secondary') github.rateLimit(150, mood);
      if (mood === 'errors') github.failNext(500, 3);
      await new Promise((r) => setTimeout(r, 150));
    }
    github.setDown(false);
  })();

  // Each workload gets its requests back to back (so later ones supersede queued ones), all
  // workloads at once; the controller is replaced while they arrive.
  const dispatched: Array<{ namespace: string; name: string; image: string }> = [];
  const restart = (async () => {
    await waitUntil(
      'half of the requests are dispatched',
      () => dispatched.length >= (WORKLOADS * PER_WORKLOAD) / 2,
    );
    await controller.stop();
    controller = await startController();
    restarts += 1;
  })();
  await Promise.all(
    namespaces.map(async (namespace) => {
      for (let round = 0; round < PER_WORKLOAD; round++) {
        const image = `ghcr.io/acme/web:${round + 2}.0.0`;
        const { status, body } = await h.dispatch(namespace, { target: 'web', image });
        expect(status).toBe(202);
        dispatched.push({ namespace, name: String(body.name), image });
      }
    }),
  );
  await restart;

  // Deploys end as they would without GitHub.
  const final = new Map<string, Request>();
  for (const { namespace, name } of dispatched)
    final.set(
      `${namespace}/${name}`,
      await h.waitFor(namespace, name, ['Succeeded', 'Superseded', 'Failed', 'Denied', 'RolledBack'], 60_000),
    );
  flapping = false;
  await flapper;
  for (const namespace of namespaces) {
    const last = dispatched.filter((d) => d.namespace === namespace).at(-1) as {
      name: string;
      image: string;
    };
    expect(`${namespace}: ${final.get(`${namespace}/${last.name}`)?.status?.phase}`).toBe(
      `${namespace}: Succeeded`,
    );
    expect(await h.images(namespace)).toEqual([last.image]);
  }
  for (const request of final.values()) expect(['Succeeded', 'Superseded']).toContain(request.status?.phase);

  // Reports catch up once GitHub is back, each state exactly once.
  let pending = dispatched.length;
  await waitUntil(
    'every request has been reported',
    async () => {
      pending = 0;
      for (const { namespace, name } of dispatched) {
        const request = await h.kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name);
        if (!request || needsReport(request)) pending += 1;
        else final.set(`${namespace}/${name}`, request);
      }
      return pending === 0;
    },
    { timeoutMs: 90_000, intervalMs: 200, describe: () => ({ pending }) },
  );
  // Anything the reporter would still do (it should do nothing more) happens before counting.
  await h.settle(controller);
  await controller.stop();
  const duplicates: string[] = [];
  for (const request of final.values()) {
    const mine = github
      .deployments()
      .filter(
        (d) =>
          (d.body.payload as { keylessDeploy?: { uid?: string } }).keylessDeploy?.uid ===
          request.metadata.uid,
      );
    const shown = mine.flatMap((d) => d.statuses.map((s) => String(s.state)));
    if (mine.length !== 1 || JSON.stringify(shown) !== JSON.stringify(desiredStates(request)))
      duplicates.push(
        `${request.metadata.namespace}/${request.metadata.name}: ${mine.length} deployments, ${shown.join(',')}`,
      );
  }
  expect(duplicates).toEqual([]);

  const phases: Partial<Record<DeployPhase, number>> = {};
  for (const request of final.values()) {
    const phase = request.status?.phase as DeployPhase;
    if (DEPLOY_PHASES.includes(phase)) phases[phase] = (phases[phase] ?? 0) + 1;
  }
  const answers: Record<string, number> = {};
  for (const call of github.calls) answers[call.status] = (answers[call.status] ?? 0) + 1;
  console.log(
    JSON.stringify({
      scenario: 'github-flapping',
      requests: dispatched.length,
      workloads: WORKLOADS,
      restarts,
      phases,
      githubMoods: faults,
      githubAnswers: answers,
      deployments: github.deployments().length,
      statuses: github.deployments().reduce((n, d) => n + d.statuses.length, 0),
    }),
  );
}, 240_000);
