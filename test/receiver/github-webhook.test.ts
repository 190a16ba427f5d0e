/**
 * `POST /v1/github/webhook` over real HTTP with real payloads from `@octokit/webhooks-examples`:
 * signed and unsigned, tampered, oversized, stale, redelivered; then a deployment event followed
 * through the controller, reported back on the workflow's own GitHub deployment.
 */
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import type { RunningController } from '../../src/controller/controller-manager.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { startHarness, type Harness, type Request } from '../e2e/harness.js';
import { ACME_WEB, appDeployments, startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { waitUntil } from '../support/wait-until.js';

type Json = Record<string, unknown>;
const examples = createRequire(import.meta.url)(
  '@octokit/webhooks-examples/api.github.com/index.json',
) as Array<{
  name: string;
  examples: Json[];
}>;
const example = (name: string, index = 0): Json =>
  structuredClone(examples.find((e) => e.name === name)?.examples[index] as Json);

const SECRET = 'a-webhook-secret-of-some-length';
let github: FakeGitHub;
let h: Harness;
let controller: RunningController;
let delivery = 0;

beforeAll(async () => {
  github = await startFakeGitHub();
  github.install(ACME_WEB);
  h = await startHarness({
    github: { apiUrl: github.url, webhookSecret: SECRET, webhookMaxAgeSeconds: 3600 },
  });
  controller = await h.controller({
    github: {
      deployments: appDeployments(github),
      retryBaseMs: 100,
    },
  });
  await h.scenario('hooks', { allowGitHubDeployments: true });
  await h.scenario('hooks-closed');
  await h.scenario('hooks-ref', {
    allowGitHubDeployments: true,
    subjects: [{ repositoryId: '100000001', ref: 'refs/heads/main' }],
  });
  await h.scenario('hooks-env', { allowGitHubDeployments: true, environments: ['production'] });
});

afterAll(async () => {
  await controller.stop();
  await h.close();
  await github.close();
});

const sign = (body: string, secret = SECRET): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

async function send(
  event: string,
  body: string,
  headers: Record<string, string | undefined> = {},
): Promise<{ status: number; body: Json }> {
  const all: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': `delivery-${++delivery}`,
    'x-hub-signature-256': sign(body),
  };
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) delete all[name];
    else all[name] = value;
  }
  const response = await fetch(`${h.playground.receiver.url}/v1/github/webhook`, {
    method: 'POST',
    headers: all,
    body,
  });
  return { status: response.status, body: (await response.json()) as Json };
}

/** The real example payload, made about acme/web and a deployment created now in the fake GitHub. */
function deploymentEvent(namespace: string, payload: unknown, image = 'ghcr.io/acme/web:9.1.0'): Json {
  const event = example('deployment');
  const created = github.createDeployment('acme/web', { ref: 'refs/heads/main', environment: 'production' });
  const deployment = event.deployment as Json;
  Object.assign(deployment, {
    id: created.id,
    ref: 'refs/heads/main',
    sha: 'a501fa6b06a6dc25cca7cace0b989abe6b156366',
    environment: 'production',
    created_at: new Date().toISOString(),
    payload: payload ?? { namespace, target: 'web', image },
  });
  Object.assign(event.repository as Json, { id: 100000001, full_name: 'acme/web', name: 'web' });
  Object.assign((event.repository as Json).owner as Json, { id: 100000000, login: 'acme' });
  return event;
}

async function requests(namespace: string): Promise<Request[]> {
  return (await h.kube.list<Request>(RESOURCE_TYPES.deployRequests, namespace)).items;
}

test('a signed deployment event becomes an attested DeployRequest, is deployed, and is reported on that deployment', async () => {
  const event = deploymentEvent('hooks', undefined);
  const deploymentId = String((event.deployment as Json).id);
  const deploymentsBefore = github.deployments().length;
  const answer = await send('deployment', JSON.stringify(event));
  expect(answer.status).toBe(202);
  const request = await h.waitFor('hooks', String(answer.body.name), ['Succeeded', 'Failed', 'Denied']);
  expect(request.status?.phase).toBe('Succeeded');
  expect(request.spec.source).toMatchObject({
    type: 'github-deployment',
    github: {
      issuer: github.url,
      repository: 'acme/web',
      repositoryId: '100000001',
      repositoryOwnerId: '100000000',
      ref: 'refs/heads/main',
      sha: 'a501fa6b06a6dc25cca7cace0b989abe6b156366',
      environment: 'production',
      eventName: 'deployment',
      actor: 'Codertocat',
      deploymentId,
    },
    attestation: expect.any(String),
  });
  expect(request.spec.environment).toBe('production');
  expect(await h.images('hooks')).toEqual(['ghcr.io/acme/web:9.1.0']);
  // Reported on the workflow's deployment; no second deployment created.
  const statuses = () => github.deployments().find((d) => String(d.id) === deploymentId)?.statuses ?? [];
  await waitUntil("three statuses on the workflow's deployment", () => statuses().length >= 3, {
    describe: () => statuses().map((s) => s.state),
  });
  await h.settle(controller);
  expect(statuses().map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);
  expect(github.deployments().length).toBe(deploymentsBefore);

  // Redelivered, with the same or another delivery id: the same request, nothing new.
  const again = await send('deployment', JSON.stringify(event), {
    'x-github-delivery': `delivery-${delivery}`,
  });
  const other = await send('deployment', JSON.stringify(event));
  expect([again.status, again.body.name, again.body.replayed]).toEqual([200, answer.body.name, true]);
  expect([other.status, other.body.name]).toEqual([200, answer.body.name]);
  expect(await requests('hooks')).toHaveLength(1);
});

test('a payload given as a JSON string is read like an object', async () => {
  const event = deploymentEvent(
    'hooks',
    JSON.stringify({ namespace: 'hooks', target: 'web', image: 'ghcr.io/acme/web:9.2.0' }),
  );
  const answer = await send('deployment', JSON.stringify(event));
  expect(answer.status).toBe(202);
  expect((await h.waitFor('hooks', String(answer.body.name), ['Succeeded'])).spec.images).toEqual([
    { container: 'web', image: 'ghcr.io/acme/web:9.2.0' },
  ]);
});

describe('bad webhooks are refused and create nothing', () => {
  const body = (): string => JSON.stringify(deploymentEvent('hooks-closed', undefined));
  test.each([
    [
      'no signature',
      () => send('deployment', body(), { 'x-hub-signature-256': undefined }),
      401,
      'X-Hub-Signature-256 is missing',
    ],
    [
      'signed with another secret',
      () => send('deployment', body(), { 'x-hub-signature-256': sign(body(), 'another-secret-of-length') }),
      401,
      'signature does not match',
    ],
    [
      'tampered after signing',
      () => {
        const original = body();
        return send('deployment', original.replace('ghcr.io/acme/web:9.1.0', 'ghcr.io/evil/web:1.0.0'), {
          'x-hub-signature-256': sign(original),
        });
      },
      401,
      'signature does not match',
    ],
    [
      'a malformed signature',
      () => send('deployment', body(), { 'x-hub-signature-256': 'sha1=abc' }),
      401,
      'signature does not match',
    ],
    ['oversized', () => send('deployment', `{"pad":"${'x'.repeat(1024 * 1024)}"}`), 413, 'larger than'],
    ['not JSON', () => send('deployment', 'not json'), 400, 'not valid JSON'],
    [
      'a bad delivery id',
      () => send('deployment', body(), { 'x-github-delivery': 'x'.repeat(65) }),
      400,
      'X-GitHub-Delivery',
    ],
    [
      'no event name',
      () => send('deployment', body(), { 'x-github-event': undefined }),
      400,
      'X-GitHub-Event',
    ],
    [
      'the stale original example (created 2019)',
      () => {
        const event = deploymentEvent('hooks', undefined);
        (event.deployment as Json).created_at = '2019-05-15T15:20:53Z';
        return send('deployment', JSON.stringify(event));
      },
      400,
      'refusing a stale or replayed event',
    ],
    [
      'a payload naming no target',
      () => send('deployment', JSON.stringify(deploymentEvent('hooks', { namespace: 'hooks' }))),
      400,
      'target',
    ],
    [
      'a payload that tries to set the environment',
      () =>
        send(
          'deployment',
          JSON.stringify(
            deploymentEvent('hooks', {
              namespace: 'hooks',
              target: 'web',
              image: 'ghcr.io/acme/web:1.2.3',
              environment: 'dev',
            }),
          ),
        ),
      400,
      "the environment is the deployment's own",
    ],
    [
      'a namespace whose policy does not allow deployment events',
      () => send('deployment', body()),
      403,
      'allowGitHubDeployments is false',
    ],
  ])('%s', async (_name, attempt, status, message) => {
    const before = [...(await requests('hooks')), ...(await requests('hooks-closed'))].length;
    const answer = await attempt();
    expect(answer.status).toBe(status);
    expect(String(answer.body.message)).toContain(message);
    expect([...(await requests('hooks')), ...(await requests('hooks-closed'))]).toHaveLength(before);
  });
});

describe("ref and environment rules refuse deployment events (their ref and environment are the creator's word)", () => {
  test.each([
    ['hooks-ref', 'has a subject with a ref rule, which a GitHub deployment event cannot satisfy'],
    ['hooks-env', 'has an environments rule, which a GitHub deployment event cannot satisfy'],
  ])(
    '%s: a genuinely signed event for main and production is refused, nothing created',
    async (namespace, message) => {
      // The event says ref refs/heads/main and environment production, exactly what the rules ask.
      const answer = await send('deployment', JSON.stringify(deploymentEvent(namespace, undefined)));
      expect(answer.status).toBe(403);
      expect(String(answer.body.message)).toContain(message);
      expect(await requests(namespace)).toEqual([]);
    },
  );

  test('the same policies admit an OIDC token from main in production', async () => {
    for (const namespace of ['hooks-ref', 'hooks-env']) {
      const answer = await h.dispatch(
        namespace,
        { target: 'web', image: 'ghcr.io/acme/web:9.3.0' },
        { ref: 'refs/heads/main', environment: 'production' },
      );
      expect([namespace, answer.status]).toEqual([namespace, 202]);
    }
  });
});

test.each([
  ['ping', 0],
  ['installation', 1],
  ['installation', 0],
])('%s events (example %i) are acknowledged', async (name, index) => {
  const answer = await send(name, JSON.stringify(example(name, index)));
  expect(answer).toMatchObject({ status: 200, body: { ok: true, event: name } });
});

test('events the App does not act on are acknowledged and ignored', async () => {
  const answer = await send('push', JSON.stringify(example('push')));
  expect(answer).toMatchObject({ status: 200, body: { ok: true, ignored: true } });
  const status = example('deployment_status');
  expect((await send('deployment_status', JSON.stringify(status))).body).toMatchObject({ ignored: true });
});

test('a receiver without a webhook secret has no webhook endpoint', async () => {
  const plain = await startHarness();
  try {
    const response = await fetch(`${plain.playground.receiver.url}/v1/github/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'ping' },
      body: '{}',
    });
    expect(response.status).toBe(404);
  } finally {
    await plain.close();
  }
});
