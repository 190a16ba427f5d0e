/**
 * The playground end to end: started by the CLI command in-process, used with a real kubectl,
 * a token minted by `keyless-deploy token`, and a dispatch over real HTTP to its receiver.
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { main } from '../../src/cli/main.js';
import type { PlaygroundInfo } from '../../src/playground/playground.js';
import { testIo, type TestIo } from '../support/cli-io.js';
import { kubectlOk } from '../support/kubectl.js';

let stateDir: string;
let io: TestIo;
let exited: Promise<number>;
let info: PlaygroundInfo;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'keyless-playground-'));
  io = testIo({ KEYLESS_LOG_LEVEL: 'warn' });
  exited = main(['playground', '--state-dir', stateDir, '--rollout-step-ms', '20'], io);
  const infoPath = join(stateDir, 'playground.json');
  for (let i = 0; i < 200 && !existsSync(infoPath); i++) await new Promise((r) => setTimeout(r, 50));
  info = JSON.parse(readFileSync(infoPath, 'utf8')) as PlaygroundInfo;
});

afterAll(async () => {
  io.stop('SIGINT');
  await exited;
});

describe('keyless-deploy playground', () => {
  test('writes playground.json and a kubeconfig kubectl uses as is; secrets are private', async () => {
    expect(info.apiServer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(info.kubeconfig).toBe(join(stateDir, 'kubeconfig'));
    expect(info.demo).toMatchObject({
      namespace: 'demo',
      deployment: 'web',
      container: 'web',
      imageToDeploy: 'ghcr.io/acme/web:1.1.0',
    });
    expect(info.demo?.claims.repository_id).toBe('100000001');
    const listed = await kubectlOk(info.kubeconfig, [
      'get',
      'deploypolicies,deployments',
      '-n',
      'demo',
      '-o',
      'name',
    ]);
    expect(listed.split('\n').filter(Boolean).sort()).toEqual([
      'deployment.apps/web',
      'deploypolicy.keyless.dev/web',
    ]);
    for (const file of ['kubeconfig', 'attestation-key.pem', 'control-secret']) {
      expect(statSync(join(stateDir, file)).mode & 0o077).toBe(0);
    }
    expect(io.err()).toContain('keyless-deploy playground is running (embedded control plane).');
  });

  test('token -> POST /v1/dispatch -> a DeployRequest kubectl shows, with verified claims and attestation', async () => {
    const tokenIo = testIo();
    expect(await main(['token', '--state-dir', stateDir], tokenIo)).toBe(0);
    const token = tokenIo.out().trim();
    const claims = decodeJwt(token);
    expect(claims.iss).toBe(info.issuer);
    expect(claims.aud).toBe(info.audience);
    expect(claims.repository_id).toBe('100000001');

    const response = await fetch(`${info.receiver}/v1/dispatch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: 'demo', target: 'web', image: info.demo?.imageToDeploy }),
    });
    expect(response.status).toBe(202);
    const created = (await response.json()) as { namespace: string; name: string };
    const object = JSON.parse(
      await kubectlOk(info.kubeconfig, ['get', 'dr', created.name, '-n', 'demo', '-o', 'json']),
    );
    expect(object.spec.source.type).toBe('github-oidc');
    expect(object.spec.source.github).toMatchObject({
      repository: 'acme/web',
      repositoryId: '100000001',
      repositoryOwnerId: '100000000',
      ref: 'refs/heads/main',
    });
    expect(object.spec.source.attestation).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(JSON.stringify(object)).not.toContain(token);
    // The playground's controller deploys it: the demo Deployment ends up running the new image.
    await kubectlOk(info.kubeconfig, [
      'wait',
      '--for=jsonpath={.status.phase}=Succeeded',
      `dr/${created.name}`,
      '-n',
      'demo',
      '--timeout=20s',
    ]);
    const image = await kubectlOk(info.kubeconfig, [
      'get',
      'deployment',
      'web',
      '-n',
      'demo',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    expect(image).toBe('ghcr.io/acme/web:1.1.0');
    const table = await kubectlOk(info.kubeconfig, ['get', 'dr', '-n', 'demo']);
    expect(table).toMatch(
      new RegExp(`${created.name}\\s+Succeeded\\s+web\\s+ghcr\\.io/acme/web:1\\.1\\.0\\s+acme/web`),
    );
  });

  test('a token with claims the demo policy does not allow is refused and creates nothing', async () => {
    const tokenIo = testIo();
    expect(await main(['token', '--state-dir', stateDir, '--claim', 'repository_id=999'], tokenIo)).toBe(0);
    const before = await kubectlOk(info.kubeconfig, ['get', 'dr', '-n', 'demo', '-o', 'name']);
    const response = await fetch(`${info.receiver}/v1/dispatch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenIo.out().trim()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ namespace: 'demo', target: 'web', image: info.demo?.imageToDeploy }),
    });
    expect(response.status).toBe(403);
    expect(await kubectlOk(info.kubeconfig, ['get', 'dr', '-n', 'demo', '-o', 'name'])).toBe(before);
  });

  test('the control endpoint refuses requests without the state-dir secret', async () => {
    const response = await fetch(`${info.control}/mint`, { method: 'POST', body: '{"claims":{}}' });
    expect(response.status).toBe(401);
  });
});
