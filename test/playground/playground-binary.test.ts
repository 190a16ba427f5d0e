/**
 * The playground as a new user meets it: the real binary in child processes (playground, token,
 * dispatch), kubectl, and HTTP. One token per dispatch; the failure demo rolls back within the
 * demo Deployment's progress deadline and the manual request queued behind it proceeds; `--wait`
 * prints each phase as it happens; the state dir is locked to one playground.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO } from '../../src/playground/demo-objects.js';
import type { PlaygroundInfo } from '../../src/playground/playground.js';
import { runCli, spawnCli, type RunningCli } from '../support/cli-process.js';
import { kubectlOk, PROJECT_ROOT } from '../support/kubectl.js';

const stateDir = mkdtempSync(join(tmpdir(), 'keyless-playground-bin-'));
const env = { HOME: stateDir, KEYLESS_LOG_LEVEL: 'info' };
let playground: RunningCli;
let info: PlaygroundInfo;

/** Resolves once `check()` holds; fails with `what` when the process ends or `ms` pass first. */
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  process?: RunningCli,
  ms = 20_000,
): Promise<void> {
  let ended = false;
  void process?.exited.then(() => (ended = true));
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (ended && !(await check()))
      throw new Error(`${what}: the process ended first\n${process?.stdout()}${process?.stderr()}`);
    if (Date.now() > deadline)
      throw new Error(`${what}: not within ${ms} ms\n${process?.stdout()}${process?.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const infoPath = join(stateDir, 'playground.json');
const kubectl = (args: string[], input?: string): Promise<string> =>
  kubectlOk(info.kubeconfig, args, input === undefined ? {} : { input });
const token = async (): Promise<string> => {
  const minted = await runCli(['token', '--state-dir', stateDir], env);
  expect(minted.code).toBe(0);
  return minted.stdout.trim();
};
const dispatchArgs = (tokenValue: string, image: string, extra: string[] = []): string[] => [
  'dispatch',
  '--url',
  info.receiver,
  '--token',
  tokenValue,
  '-n',
  'demo',
  '--target',
  'web',
  '--image',
  image,
  ...extra,
];
const requestNames = async (): Promise<string[]> =>
  (await kubectl(['get', 'dr', '-n', 'demo', '-o', 'name'])).split('\n').filter(Boolean).sort();
const runningImage = (): Promise<string> =>
  kubectl([
    'get',
    'deployment',
    'web',
    '-n',
    'demo',
    '-o',
    'jsonpath={.spec.template.spec.containers[0].image}',
  ]);

beforeAll(async () => {
  playground = spawnCli(['playground', '--state-dir', stateDir], env);
  await until(() => existsSync(infoPath), 'playground.json is written', playground, 60_000);
  info = JSON.parse(readFileSync(infoPath, 'utf8')) as PlaygroundInfo;
}, 90_000);

afterAll(async () => {
  await playground?.stop();
});

describe('the playground binary', () => {
  test('a second playground on the same state dir fails at once, naming the first one; nothing of it changes', async () => {
    const files = ['playground.json', 'kubeconfig', 'control-secret'];
    const before = files.map((file) => readFileSync(join(stateDir, file), 'utf8'));
    expect(readFileSync(join(stateDir, 'playground.lock'), 'utf8').trim()).toBe(String(playground.pid));
    const second = await runCli(['playground', '--state-dir', stateDir], env);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `another playground (pid ${playground.pid}) is running with --state-dir ${stateDir}`,
    );
    expect(files.map((file) => readFileSync(join(stateDir, file), 'utf8'))).toEqual(before);
    expect(readFileSync(join(stateDir, 'playground.lock'), 'utf8').trim()).toBe(String(playground.pid));
    // The first one still answers.
    expect(await requestNames()).toBeInstanceOf(Array);
  });

  test('playground.json names the image to deploy; the demo objects roll out failures fast', async () => {
    expect(info.demo).toMatchObject({ imageToDeploy: DEMO.nextImage });
    expect(info.demo).not.toHaveProperty('image');
    expect(
      await kubectl([
        'get',
        'deployment',
        'web',
        '-n',
        'demo',
        '-o',
        'jsonpath={.spec.progressDeadlineSeconds}',
      ]),
    ).toBe('15');
    expect(
      await kubectl([
        'get',
        'deploypolicy',
        'web',
        '-n',
        'demo',
        '-o',
        'jsonpath={.spec.rollout.timeoutSeconds}',
      ]),
    ).toBe('30');
  });

  test('a token is an idempotency key: same body replays (exit 0), another body is refused (409, exit 2) and changes nothing', async () => {
    const first = await token();
    const created = await runCli(dispatchArgs(first, 'ghcr.io/acme/web:1.1.0'), env);
    expect([created.code, created.stderr]).toEqual([0, '']);
    const name = /deployrequest demo\/(\S+) accepted/.exec(created.stdout)?.[1] as string;
    expect(name).toBeTruthy();
    await kubectl([
      'wait',
      '--for=jsonpath={.status.phase}=Succeeded',
      `dr/${name}`,
      '-n',
      'demo',
      '--timeout=30s',
    ]);

    const replay = await runCli(dispatchArgs(first, 'ghcr.io/acme/web:1.1.0'), env);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toBe(
      `deployrequest demo/${name} already exists (same token, same body): Succeeded\n`,
    );

    const names = await requestNames();
    const stored = await kubectl(['get', 'dr', name, '-n', 'demo', '-o', 'jsonpath={.spec}']);
    const reused = await runCli(dispatchArgs(first, 'ghcr.io/acme/web:fail-1'), env);
    expect(reused.code).toBe(2);
    expect(reused.stderr).toContain(
      `dispatch refused (409 token_reused): this token already created DeployRequest demo/${name} (web=ghcr.io/acme/web:1.1.0); this body differs in images.`,
    );
    expect(reused.stderr).toContain('Mint a new token for every dispatch');
    expect(reused.stdout).toBe('');

    // The same over HTTP, naming every field that differs.
    const response = await fetch(`${info.receiver}/v1/dispatch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${first}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        namespace: 'demo',
        target: 'web',
        image: 'ghcr.io/acme/web:1.1.0',
        reason: 'again',
      }),
    });
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({
      error: 'token_reused',
      details: [{ field: 'reason', message: "differs from the first request's reason" }],
    });

    expect(await requestNames()).toEqual(names);
    expect(await kubectl(['get', 'dr', name, '-n', 'demo', '-o', 'jsonpath={.spec}'])).toBe(stored);
    expect(await runningImage()).toBe('ghcr.io/acme/web:1.1.0');
  }, 60_000);

  test('the failure demo: fail-1 is rolled back within the progress deadline, --wait prints each phase as it happens, and the queued manual request proceeds', async () => {
    const before = await runningImage();
    const dispatch = spawnCli(
      dispatchArgs(await token(), 'ghcr.io/acme/web:fail-1', ['--wait', '--timeout', '60']),
      env,
    );
    await until(() => /\d\d:\d\d:\d\d Deploying/.test(dispatch.stdout()), 'Deploying is printed', dispatch);
    const name = /deployrequest demo\/(\S+) accepted: Pending/.exec(dispatch.stdout())?.[1] as string;
    const startedAt = await kubectl(['get', 'dr', name, '-n', 'demo', '-o', 'jsonpath={.status.startedAt}']);
    expect(startedAt).toMatch(/^\d{4}-\d\d-\d\dT/);

    // The README's manual request, applied while fail-1 holds the Deployment: it queues.
    const manual = readFileSync(join(PROJECT_ROOT, 'examples', 'deployrequest-manual.yaml'), 'utf8').replace(
      'namespace: shop',
      'namespace: demo',
    );
    await kubectl(['apply', '-f', '-'], manual);
    await until(async () => {
      const phase = await kubectl([
        'get',
        'dr',
        'web-hotfix-1',
        '-n',
        'demo',
        '-o',
        'jsonpath={.status.phase}',
      ]);
      expect(phase).not.toBe('Superseded');
      return phase === 'Queued';
    }, 'the manual request queues behind fail-1');

    expect(await dispatch.exited).toBe(4);
    const lines = dispatch.stdout().trim().split('\n');
    const phases = lines.slice(1).map((line) => /^\d\d:\d\d:\d\d (\w+)/.exec(line)?.[1]);
    // Each phase once, in order; RollingBack lasts about half a second here and may fall between
    // two looks of the receiver (every 250 ms in the playground).
    expect(phases.join(' ')).toMatch(/^Deploying (RollingBack )?RolledBack$/);
    expect(lines.at(-1)).toContain(`RolledBack: the rollout failed; restored web=${before}`);

    const status = JSON.parse(
      await kubectl(['get', 'dr', name, '-n', 'demo', '-o', 'jsonpath={.status}']),
    ) as Record<string, string>;
    expect(status.startedAt).toBe(startedAt);
    expect(Date.parse(status.rollbackStartedAt as string)).toBeGreaterThanOrEqual(Date.parse(startedAt));

    await kubectl([
      'wait',
      '--for=jsonpath={.status.phase}=Succeeded',
      'dr/web-hotfix-1',
      '-n',
      'demo',
      '--timeout=30s',
    ]);
    expect(await runningImage()).toBe('ghcr.io/acme/web:1.4.3-hotfix');

    // SOURCE: the verified repository, or manual for the request applied with kubectl.
    const table = await kubectl(['get', 'dr', '-n', 'demo']);
    expect(table.split('\n')[0]).toMatch(/NAME\s+PHASE\s+TARGET\s+IMAGE\s+SOURCE\s+READY\s+REASON\s+AGE/);
    expect(table).toMatch(/web-hotfix-1\s+Succeeded\s+web\s+ghcr\.io\/acme\/web:1\.4\.3-hotfix\s+manual\s/);
    expect(table).toMatch(
      new RegExp(`${name}\\s+RolledBack\\s+web\\s+ghcr\\.io/acme/web:fail-1\\s+acme/web\\s`),
    );
  }, 90_000);

  test('dispatch --wait prints WaitingForApproval while it waits', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Namespace
metadata: { name: gated }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: gated }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: web, image: 'ghcr.io/acme/web:1.0.0' }] }
---
apiVersion: keyless.dev/v1alpha1
kind: DeployPolicy
metadata: { name: web, namespace: gated }
spec:
  targets: [{ kind: Deployment, name: web, containers: [web] }]
  subjects: [{ repositoryId: '${DEMO.repositoryId}' }]
  images: { repositories: [ghcr.io/acme/web] }
  approval: { required: true, approvers: [alice] }
`,
    );
    const args = dispatchArgs(await token(), 'ghcr.io/acme/web:1.1.0', ['--wait', '--timeout', '8']);
    args[args.indexOf('demo')] = 'gated';
    const dispatch = spawnCli(args, env);
    await until(
      () => /\d\d:\d\d:\d\d WaitingForApproval/.test(dispatch.stdout()),
      'WaitingForApproval is printed',
      dispatch,
    );
    expect(await dispatch.exited).toBe(5);
    expect(dispatch.stderr()).toMatch(
      /timed out after 8s waiting for deployrequest gated\/\S+ \(last: WaitingForApproval/,
    );
  }, 30_000);

  test('stop removes playground.json and the lock; a stale lock is taken over; the restart keeps the demo', async () => {
    expect(await playground.stop('SIGINT')).toBe(0);
    expect(existsSync(infoPath)).toBe(false);
    expect(existsSync(join(stateDir, 'playground.lock'))).toBe(false);
    expect(playground.stdout()).toContain('"msg":"demo created"');

    // A lock left by a process that is gone (a pid that no longer exists).
    const gone = spawnCli(['--version'], env);
    await gone.exited;
    writeFileSync(join(stateDir, 'playground.lock'), `${gone.pid}\n`);
    playground = spawnCli(['playground', '--state-dir', stateDir], env);
    await until(() => existsSync(infoPath), 'the restarted playground is ready', playground, 60_000);
    info = JSON.parse(readFileSync(infoPath, 'utf8')) as PlaygroundInfo;
    expect(readFileSync(join(stateDir, 'playground.lock'), 'utf8').trim()).toBe(String(playground.pid));
    expect(playground.stdout()).toContain('"msg":"demo kept"');
    expect(playground.stdout()).not.toContain('"msg":"demo created"');
    expect(await runningImage()).toBe('ghcr.io/acme/web:1.4.3-hotfix');
  }, 90_000);
});
