/**
 * Deploys reported to GitHub, end to end: the receiver and controller against the embedded API
 * server, the App's calls against the fake GitHub (every request checked against GitHub's OpenAPI
 * description), including outages and rate limits during deploys.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeployPolicySpec } from '../../src/api/types.js';
import type { RunningController } from '../../src/controller/controller-manager.js';
import { loadGitHubSettings } from '../../src/github/github-settings.js';
import type { KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startPlayground } from '../../src/playground/playground.js';
import { startHarness, type Harness, type Request } from '../e2e/harness.js';
import {
  ACME_WEB,
  appDeployments,
  startFakeGitHub,
  type FakeDeployment,
  type FakeGitHub,
} from '../support/fake-github.js';
import { waitUntil } from '../support/wait-until.js';

const SHA = 'a501fa6b06a6dc25cca7cace0b989abe6b156366';
let github: FakeGitHub;
let h: Harness;
let controller: RunningController;

const REPORTING: Partial<DeployPolicySpec> = {
  github: {
    productionEnvironment: true,
    environmentUrl: 'https://shop.example.com',
  },
};

beforeAll(async () => {
  github = await startFakeGitHub();
  github.install(ACME_WEB);
  h = await startHarness();
  controller = await h.controller({
    github: {
      deployments: appDeployments(github),
      logUrlTemplate: 'https://deploy.example.com/requests/{namespace}/{name}',
      retryBaseMs: 100,
    },
  });
});

afterAll(async () => {
  await controller.stop();
  await h.close();
  await github.close();
});

async function dispatch(
  namespace: string,
  image: string,
  claims: Record<string, string> = {},
): Promise<string> {
  const { status, body } = await h.dispatch(namespace, { target: 'web', image }, claims);
  expect(status).toBe(202);
  return String(body.name);
}

/** Wait until the request's report has delivered `states`. */
async function reported(
  namespace: string,
  name: string,
  states: string[],
  timeoutMs = 20_000,
): Promise<Request> {
  let last: Request | undefined;
  return waitUntil(
    `${namespace}/${name} has reported ${states.join(',')}`,
    async () => {
      last = await h.kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name);
      return JSON.stringify(last?.status?.github?.reportedStates ?? []) === JSON.stringify(states)
        ? last
        : undefined;
    },
    { timeoutMs, describe: () => last?.status?.github },
  );
}

/** The Events about a request with `reason`. */
async function eventsOf(namespace: string, name: string, reason: string): Promise<KubeObject[]> {
  const { items } = await h.kube.list<KubeObject>(RESOURCE_TYPES.events, namespace);
  return items.filter(
    (event) => (event.involvedObject as { name?: string }).name === name && event.reason === reason,
  );
}

function deploymentOf(request: Request): FakeDeployment {
  const found = github.deployments().filter((d) => String(d.id) === request.status?.github?.deploymentId);
  expect(found).toHaveLength(1);
  return found[0] as FakeDeployment;
}

const states = (deployment: FakeDeployment): unknown[] => deployment.statuses.map((s) => s.state);

test('a dispatch becomes a GitHub deployment of the verified sha with statuses queued, in_progress, success', async () => {
  await h.scenario('gh-ok', REPORTING);
  const name = await dispatch('gh-ok', 'ghcr.io/acme/web:2.0.0', { environment: 'production' });
  const request = await reported('gh-ok', name, ['queued', 'in_progress', 'success']);
  expect(request.status?.phase).toBe('Succeeded');
  const deployment = deploymentOf(request);
  expect(deployment.repository).toBe('acme/web');
  expect(deployment.body).toEqual({
    ref: SHA,
    environment: 'production',
    description: 'keyless-deploy: Deployment/web in gh-ok',
    auto_merge: false,
    required_contexts: [],
    production_environment: true,
    transient_environment: false,
    payload: {
      keylessDeploy: {
        namespace: 'gh-ok',
        name,
        uid: request.metadata.uid,
        target: { kind: 'Deployment', name: 'web' },
        images: [{ container: 'web', image: 'ghcr.io/acme/web:2.0.0' }],
      },
    },
  });
  expect(states(deployment)).toEqual(['queued', 'in_progress', 'success']);
  const success = deployment.statuses[2] as Record<string, string>;
  expect(success.log_url).toBe(`https://deploy.example.com/requests/gh-ok/${name}`);
  expect(success.environment_url).toBe('https://shop.example.com');
  expect(success.description).toBe('Deployed Deployment/web');
  expect(request.status?.github?.deploymentUrl).toBe(
    `${github.url}/repos/acme/web/deployments/${deployment.id}`,
  );
});

test('a failed rollout reports failure, with the reason in at most 140 characters', async () => {
  await h.scenario('gh-fail', {}, { progressDeadlineSeconds: 1 });
  const name = await dispatch('gh-fail', 'ghcr.io/acme/web:fail-1');
  const request = await reported('gh-fail', name, ['queued', 'in_progress', 'failure']);
  expect(request.status?.phase).toBe('RolledBack');
  const deployment = deploymentOf(request);
  expect(states(deployment)).toEqual(['queued', 'in_progress', 'failure']);
  const failure = deployment.statuses[2] as Record<string, string>;
  expect(failure.description?.length).toBeLessThanOrEqual(140);
  expect(failure.description).toMatch(/^RolledBack: /);
  // No environment URL where the policy names none.
  expect(failure.environment_url).toBe('');
});

test('a superseded request is marked inactive; a request denied for reusing a token reports error', async () => {
  await h.scenario('gh-order', {}, { progressDeadlineSeconds: 5 });
  const slow = await dispatch('gh-order', 'ghcr.io/acme/web:fail-slow');
  await h.waitFor('gh-order', slow, ['Deploying']);
  const older = await dispatch('gh-order', 'ghcr.io/acme/web:3.0.0');
  await h.waitFor('gh-order', older, ['Queued', 'Superseded']);
  const newer = await dispatch('gh-order', 'ghcr.io/acme/web:4.0.0');
  const superseded = await reported('gh-order', older, ['queued', 'inactive']);
  expect(superseded.status?.phase).toBe('Superseded');
  expect(states(deploymentOf(superseded))).toEqual(['queued', 'inactive']);
  await reported('gh-order', newer, ['queued', 'in_progress', 'success'], 30_000);

  await h.scenario('gh-reuse-a');
  await h.scenario('gh-reuse-b');
  const token = await h.token();
  const send = async (namespace: string): Promise<string> =>
    String(
      (await h.dispatch(namespace, { target: 'web', image: 'ghcr.io/acme/web:7.0.0' }, {}, token)).body.name,
    );
  const first = await send('gh-reuse-a');
  await reported('gh-reuse-a', first, ['queued', 'in_progress', 'success']);
  const second = await send('gh-reuse-b');
  const denied = await reported('gh-reuse-b', second, ['error']);
  expect(denied.status?.phase).toBe('Denied');
  const deployment = deploymentOf(denied);
  expect(states(deployment)).toEqual(['error']);
  expect(String(deployment.statuses[0]?.description)).toMatch(/^Denied: the same token already created/);
});

test('GitHub down during a deploy: the deploy succeeds at once, the report arrives later, once per state', async () => {
  await h.scenario('gh-outage');
  github.setDown(true);
  const before = github.calls.length;
  const name = await dispatch('gh-outage', 'ghcr.io/acme/web:5.0.0');
  const done = await h.waitFor('gh-outage', name, ['Succeeded', 'Failed']);
  expect(done.status?.phase).toBe('Succeeded');
  expect(await h.images('gh-outage')).toEqual(['ghcr.io/acme/web:5.0.0']);
  // The reporter tried, failed, and said why on the request: status, condition and one Event,
  // however often it retries.
  const failing = await waitUntil('the request shows the failed report', async () => {
    const request = await h.kube.get<Request>(RESOURCE_TYPES.deployRequests, 'gh-outage', name);
    return request?.status?.conditions?.some((c) => c.type === 'GitHubReported') ? request : undefined;
  });
  expect(failing.status?.github?.lastError).toMatch(/GitHub unavailable \(503\)/);
  expect(failing.status?.conditions?.find((c) => c.type === 'GitHubReported')).toMatchObject({
    status: 'False',
    reason: 'GitHubReportFailed',
    message: 'reporting to GitHub failed: GitHub unavailable (503); retrying',
  });
  // The deploy itself is Ready: GitHub being down is not the deploy's failure.
  expect(failing.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
  await waitUntil('the reporter has tried GitHub three times', () => github.calls.length - before >= 3);
  expect(github.calls.slice(before).every((call) => call.status === 503)).toBe(true);
  expect(await eventsOf('gh-outage', name, 'GitHubReportFailed')).toHaveLength(1);
  github.setDown(false);
  const request = await reported('gh-outage', name, ['queued', 'in_progress', 'success'], 30_000);
  expect(states(deploymentOf(request))).toEqual(['queued', 'in_progress', 'success']);
  expect(request.status?.github?.lastError).toBeUndefined();
  expect(request.status?.conditions?.find((c) => c.type === 'GitHubReported')).toMatchObject({
    status: 'True',
    reason: 'GitHubReportDelivered',
  });
});

test.each(['primary', 'secondary'] as const)(
  'GitHub rate limit (%s) during a deploy: the deploy is not held up; the report waits for the limit, once per state',
  async (kind) => {
    const namespace = `gh-limit-${kind}`;
    await h.scenario(namespace);
    github.rateLimit(1500, kind);
    const name = await dispatch(namespace, 'ghcr.io/acme/web:6.0.0');
    expect((await h.waitFor(namespace, name, ['Succeeded', 'Failed'])).status?.phase).toBe('Succeeded');
    const limited = github.calls.filter((call) => call.status === (kind === 'primary' ? 403 : 429));
    expect(limited.length).toBeGreaterThan(0);
    const request = await reported(namespace, name, ['queued', 'in_progress', 'success'], 30_000);
    expect(states(deploymentOf(request))).toEqual(['queued', 'in_progress', 'success']);
  },
);

test('a policy that turns reporting off gets no deployment', async () => {
  await h.scenario('gh-off', { github: { enabled: false } });
  const before = github.deployments().length;
  const name = await dispatch('gh-off', 'ghcr.io/acme/web:8.0.0');
  const done = await h.waitFor('gh-off', name, ['Succeeded']);
  // Everything the controller was told before now has been handled: the reporter did look.
  await h.settle(controller);
  expect(github.deployments().length).toBe(before);
  expect((await h.waitFor('gh-off', name, ['Succeeded'])).status?.github).toEqual(done.status?.github);
});

test('a hand-made request claiming a GitHub identity is denied and never reported', async () => {
  await h.scenario('gh-forged');
  const before = github.deployments().length;
  await h.kube.create(RESOURCE_TYPES.deployRequests, {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployRequest',
    metadata: { name: 'forged', namespace: 'gh-forged' },
    spec: {
      target: { kind: 'Deployment', name: 'web' },
      images: [{ container: 'web', image: 'ghcr.io/acme/web:6.6.6' }],
      source: {
        type: 'github-oidc',
        github: {
          issuer: 'https://token.actions.githubusercontent.com',
          repository: 'acme/web',
          repositoryId: '100000001',
          repositoryOwner: 'acme',
          repositoryOwnerId: '100000000',
          sha: SHA,
        },
      },
    },
  });
  expect((await h.waitFor('gh-forged', 'forged', ['Denied', 'Succeeded'])).status?.phase).toBe('Denied');
  await h.settle(controller);
  expect(github.deployments().length).toBe(before);
});

test('the playground reports to the GitHub API its KEYLESS_GITHUB_* settings name', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyless-gh-playground-'));
  writeFileSync(join(dir, 'app.pem'), github.privateKeyPem);
  const playground = await startPlayground({
    stateDir: dir,
    rolloutStepMs: 20,
    logger: silentLogger(),
    github: loadGitHubSettings({
      KEYLESS_GITHUB_APP_ID: String(github.appId),
      KEYLESS_GITHUB_PRIVATE_KEY_FILE: join(dir, 'app.pem'),
      KEYLESS_GITHUB_API_URL: github.url,
    }),
  });
  try {
    const token = await playground.issuer.mint(playground.info.demo?.claims ?? {}, {
      audience: playground.info.audience,
    });
    const response = await fetch(`${playground.receiver.url}/v1/dispatch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: 'demo', target: 'web', image: 'ghcr.io/acme/web:1.1.0' }),
    });
    expect(response.status).toBe(202);
    const { name } = (await response.json()) as { name: string };
    const request = await waitUntil(
      'the playground has reported three states',
      async () => {
        const found = await playground.kube.get<Request>(RESOURCE_TYPES.deployRequests, 'demo', name);
        return found?.status?.github?.reportedStates?.length === 3 ? found : undefined;
      },
      { timeoutMs: 20_000 },
    );
    expect(request?.status?.github?.reportedStates).toEqual(['queued', 'in_progress', 'success']);
    expect(states(deploymentOf(request as Request))).toEqual(['queued', 'in_progress', 'success']);
  } finally {
    await playground.stop();
  }
});
