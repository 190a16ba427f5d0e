/**
 * `keyless-deploy dispatch` against the playground, with a simulated GitHub Actions environment: a
 * local token endpoint that behaves like ACTIONS_ID_TOKEN_REQUEST_URL (bearer-protected, audience
 * from the query, JSON {value}).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startPlayground, type Playground } from '../../src/playground/playground.js';
import { startActionsTokenService, type ActionsTokenService } from '../support/actions-token-service.js';
import { testIo } from '../support/cli-io.js';

let playground: Playground;
let actions: ActionsTokenService;

beforeAll(async () => {
  playground = await startPlayground({
    stateDir: mkdtempSync(join(tmpdir(), 'keyless-dispatch-')),
    rolloutStepMs: 10,
    logger: silentLogger(),
  });
  actions = await startActionsTokenService(playground.issuer);
});

afterAll(async () => {
  await actions.close();
  await playground.stop();
});

const actionsEnv = (): NodeJS.ProcessEnv => actions.env();
const args = (image: string, extra: string[] = []): string[] => [
  'dispatch',
  '--url',
  playground.receiver.url,
  '--audience',
  playground.info.audience,
  '-n',
  'demo',
  '--target',
  'web',
  '--image',
  image,
  ...extra,
];

describe('keyless-deploy dispatch', () => {
  test('inside Actions: gets the OIDC token itself, dispatches, waits, prints progress, exits 0', async () => {
    const io = testIo(actionsEnv());
    expect(await main(args('ghcr.io/acme/web:1.5.0', ['--wait', '--timeout', '30']), io)).toBe(0);
    expect(actions.audiences).toContain(playground.info.audience);
    expect(io.out()).toMatch(/deployrequest demo\/\S+ accepted/);
    expect(io.out()).toMatch(/\d\d:\d\d:\d\d Succeeded: rolled out web=ghcr.io\/acme\/web:1.5.0/);
    const deployment = await playground.kube.get(RESOURCE_TYPES.deployments, 'demo', 'web');
    expect(JSON.stringify(deployment?.spec)).toContain('ghcr.io/acme/web:1.5.0');
  });

  test('in a terminal, progress is one live line redrawn in place', async () => {
    const io = { ...testIo(actionsEnv()), stdoutIsTTY: true };
    expect(await main(args('ghcr.io/acme/web:1.5.1', ['--wait', '--timeout', '30']), io)).toBe(0);
    expect(io.out()).toContain('\r\u001b[K');
    expect(io.out().trimEnd().split('\n')).toHaveLength(2);
  });

  test('a failing rollout exits 4 (rolled back)', async () => {
    await playground.kube.patch(
      RESOURCE_TYPES.deployments,
      'demo',
      'web',
      { spec: { progressDeadlineSeconds: 1 } },
      'strategic',
    );
    const io = testIo(actionsEnv());
    expect(await main(args('ghcr.io/acme/web:fail-9', ['--wait', '--timeout', '30']), io)).toBe(4);
    expect(io.out()).toContain('RolledBack');
  });

  test('an image the policy does not allow exits 3 (denied) and creates nothing', async () => {
    const before = (await playground.kube.list(RESOURCE_TYPES.deployRequests, 'demo')).items.length;
    const io = testIo(actionsEnv());
    expect(await main(args('docker.io/evil/web:1', ['--wait']), io)).toBe(3);
    expect(io.err()).toContain('denied');
    expect((await playground.kube.list(RESOURCE_TYPES.deployRequests, 'demo')).items.length).toBe(before);
  });

  test('waiting longer than --timeout exits 5', async () => {
    await playground.kube.patch(
      RESOURCE_TYPES.deployPolicies,
      'demo',
      'web',
      { spec: { approval: { required: true } } },
      'merge',
    );
    try {
      const io = testIo(actionsEnv());
      expect(await main(args('ghcr.io/acme/web:1.6.0', ['--wait', '--timeout', '2']), io)).toBe(5);
      expect(io.err()).toContain('timed out after 2s');
    } finally {
      await playground.kube.patch(
        RESOURCE_TYPES.deployPolicies,
        'demo',
        'web',
        { spec: { approval: null } },
        'merge',
      );
    }
  });

  test('usage errors exit 2: no token outside Actions, missing flags, bad timeout', async () => {
    for (const [argv, message] of [
      [args('ghcr.io/acme/web:1'), 'no token: outside GitHub Actions pass --token'],
      [
        ['dispatch', '--url', playground.receiver.url, '--audience', 'x', '-n', 'demo', '--image', 'a'],
        '--target is required',
      ],
      [args('ghcr.io/acme/web:1', ['--timeout', 'soon', '--token', 'x']), '--timeout must be'],
      [['dispatch', '--url', 'ftp://x', '--audience', 'x'], "--url must be the receiver's http(s) URL"],
      [args('a', ['--image', 'b', '--token', 'x']), 'CONTAINER=IMAGE'],
    ] as Array<[string[], string]>) {
      const io = testIo({});
      expect(await main(argv, io)).toBe(2);
      expect(io.err()).toContain(message);
    }
  });

  test('a forged --token is refused by the receiver (exit 1) and creates nothing', async () => {
    const io = testIo({});
    expect(await main(args('ghcr.io/acme/web:1.7.0', ['--token', 'not.a.jwt']), io)).toBe(1);
    expect(io.err()).toContain('dispatch failed (401)');
  });
});
