/**
 * The GitHub Action as GitHub runs it: the committed action/dist entry point in a child process
 * with INPUT_* variables, GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, and a local token endpoint
 * that behaves like ACTIONS_ID_TOKEN_REQUEST_URL; the receiver and controller are the playground's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { silentLogger } from '../../src/observability/logger.js';
import { startPlayground, type Playground } from '../../src/playground/playground.js';
import { startActionsTokenService, type ActionsTokenService } from '../support/actions-token-service.js';
import { ACME_WEB, startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { PROJECT_ROOT } from '../support/kubectl.js';

let playground: Playground;
let actions: ActionsTokenService;
let github: FakeGitHub;

beforeAll(async () => {
  github = await startFakeGitHub();
  github.install(ACME_WEB);
  playground = await startPlayground({
    stateDir: mkdtempSync(join(tmpdir(), 'keyless-action-')),
    // Slow enough that the App has created the GitHub deployment before the rollout ends.
    rolloutStepMs: 150,
    logger: silentLogger(),
    github: {
      apiUrl: github.url,
      app: { appId: String(github.appId), privateKeyPem: github.privateKeyPem },
      webhookMaxAgeSeconds: 3600,
    },
  });
  actions = await startActionsTokenService(playground.issuer);
});

afterAll(async () => {
  await actions.close();
  await playground.stop();
  await github.close();
});

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) =>
    statSync(join(dir, entry)).isDirectory() ? files(join(dir, entry)) : [join(dir, entry)],
  );
}

async function runAction(
  inputs: Record<string, string>,
): Promise<{ code: number; stdout: string; outputs: string; summary: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'keyless-gh-'));
  const outputs = join(dir, 'output');
  const summary = join(dir, 'summary');
  writeFileSync(outputs, '');
  writeFileSync(summary, '');
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    GITHUB_ACTIONS: 'true',
    GITHUB_OUTPUT: outputs,
    GITHUB_STEP_SUMMARY: summary,
    ...actions.env(),
    ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
  };
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'action', 'dist', 'action', 'action-main.js')], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  return { code, stdout, outputs: readFileSync(outputs, 'utf8'), summary: readFileSync(summary, 'utf8') };
}

describe('GitHub Action', () => {
  test('action.yml runs the committed node24 entry point with the documented inputs and outputs', () => {
    const action = parse(readFileSync(join(PROJECT_ROOT, 'action.yml'), 'utf8')) as {
      runs: { using: string; main: string };
      inputs: Record<string, unknown>;
      outputs: Record<string, unknown>;
    };
    expect(action.runs.using).toBe('node24');
    expect(statSync(join(PROJECT_ROOT, action.runs.main)).isFile()).toBe(true);
    expect(Object.keys(action.inputs)).toEqual([
      'url',
      'audience',
      'namespace',
      'target',
      'image',
      'images',
      'environment',
      'reason',
      'wait',
      'timeout',
    ]);
    expect(Object.keys(action.outputs)).toEqual(['request-name', 'phase', 'deployment-url']);
  });

  test('action/dist is what `npm run build:action` produces from src (no stale bundle)', () => {
    const out = mkdtempSync(join(tmpdir(), 'keyless-action-build-'));
    const tsc = join(PROJECT_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = spawnSync(
      process.execPath,
      [tsc, '-p', join(PROJECT_ROOT, 'tsconfig.action.json'), '--outDir', out],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(0);
    const committed = join(PROJECT_ROOT, 'action', 'dist');
    const built = files(out)
      .map((f) => relative(out, f))
      .sort();
    expect(
      files(committed)
        .map((f) => relative(committed, f))
        .sort(),
    ).toEqual(built);
    for (const file of built)
      expect(readFileSync(join(committed, file), 'utf8')).toBe(readFileSync(join(out, file), 'utf8'));
    // Self-contained: only node: built-ins and relative imports, so no npm install is needed.
    for (const file of built) {
      const imports = [...readFileSync(join(out, file), 'utf8').matchAll(/from '([^']+)'/g)].map(
        (m) => m[1] as string,
      );
      for (const specifier of imports)
        expect(specifier.startsWith('node:') || specifier.startsWith('.')).toBe(true);
    }
  });

  test('dispatch and wait: exit 0, outputs request-name and phase, a job summary', async () => {
    const result = await runAction({
      url: playground.receiver.url,
      audience: playground.info.audience,
      namespace: 'demo',
      target: 'web',
      image: 'ghcr.io/acme/web:2.1.0',
      timeout: '60',
    });
    expect(result.code).toBe(0);
    const deployment = github.deployments().at(-1);
    expect(deployment).toBeDefined();
    const url = `${github.url}/repos/acme/web/deployments/${deployment?.id}`;
    expect(result.outputs).toMatch(/^request-name=web-[a-z0-9]+\nphase=Succeeded\ndeployment-url=.*\n$/);
    // The GitHub reporter records the deployment's URL on the request on its own queue; an instant
    // rollout can finish first. action.yml documents the output as empty until the App has created
    // the deployment, so it is either empty or exactly the deployment the App created.
    const reported = /deployment-url=(.*)\n/.exec(result.outputs)?.[1];
    expect(['', url]).toContain(reported);
    if (reported) expect(result.summary).toContain(`| GitHub deployment | ${url} |`);
    else expect(result.summary).not.toContain('| GitHub deployment |');
    expect(result.summary).toContain('### ✅ keyless-deploy');
    expect(result.summary).toContain('| Phase | Succeeded |');
  });

  test('a denied dispatch fails the step (exit 3) with an error annotation', async () => {
    const result = await runAction({
      url: playground.receiver.url,
      audience: playground.info.audience,
      namespace: 'demo',
      target: 'web',
      image: 'docker.io/evil/web:1',
    });
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(/::error::denied: /);
    expect(result.outputs).toContain('phase=Denied');
    expect(result.summary).toContain('### ❌ keyless-deploy');
  });

  test('missing inputs are a usage error (exit 2)', async () => {
    const result = await runAction({
      url: playground.receiver.url,
      audience: playground.info.audience,
      target: 'web',
      image: 'x',
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('::error::');
  });
});
