/** Installation tokens through the real @octokit/app against the fake GitHub. */
import {
  createGitHubApp,
  InstallationTokens,
  mintDeploymentsToken,
} from '../../src/github/installation-tokens.js';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';

const REPO = { owner: 'acme', name: 'web', id: 100000001, ownerId: 100000000 };
let github: FakeGitHub;

afterEach(async () => {
  await github.close();
});

function app(fake: FakeGitHub, privateKeyPem = fake.privateKeyPem) {
  return createGitHubApp({ appId: String(fake.appId), privateKeyPem, apiUrl: fake.url });
}

test('a token is minted for exactly one repository with exactly deployments:write, and reused', async () => {
  github = await startFakeGitHub();
  github.install(REPO);
  const tokens = new InstallationTokens(app(github));
  const first = await tokens.forRepository({ fullName: 'acme/web', id: '100000001' });
  const again = await tokens.forRepository({ fullName: 'acme/web', id: '100000001' });
  expect(again).toBe(first);
  expect(first).toMatch(/^ghs_/);
  expect(github.tokenRequests).toEqual([
    {
      installationId: expect.any(Number),
      repository_ids: [100000001],
      permissions: { deployments: 'write' },
    },
  ]);
  expect(github.calls.map((c) => `${c.operationId} ${c.status}`)).toEqual([
    'apps/get-repo-installation 200',
    'apps/create-installation-access-token 201',
  ]);
});

test.each([
  [{ contents: 'write' }],
  [{ deployments: 'write', contents: 'read' }],
  [{ deployments: 'read' }],
  [{}],
  [{ administration: 'write' }],
])('any other permission set is refused before GitHub is asked: %j', async (permissions) => {
  github = await startFakeGitHub();
  github.install(REPO);
  await expect(
    mintDeploymentsToken(app(github), { fullName: 'acme/web', id: '100000001' }, permissions),
  ).rejects.toThrow('only deployments:write');
  expect(github.calls).toEqual([]);
});

test('a token GitHub grants with more than asked is discarded', async () => {
  github = await startFakeGitHub({ grantExtra: { contents: 'read' } });
  github.install(REPO);
  await expect(mintDeploymentsToken(app(github), { fullName: 'acme/web', id: '100000001' })).rejects.toThrow(
    'GitHub granted more than asked (contents:read); token discarded',
  );
});

test('an App not installed on the repository, or with a wrong key, gets no token', async () => {
  github = await startFakeGitHub();
  await expect(
    mintDeploymentsToken(app(github), { fullName: 'acme/web', id: '100000001' }),
  ).rejects.toMatchObject({
    status: 404,
  });
  github.install(REPO);
  const other = await startFakeGitHub();
  await other.close();
  await expect(
    mintDeploymentsToken(app(github, other.privateKeyPem), { fullName: 'acme/web', id: '100000001' }),
  ).rejects.toMatchObject({ status: 401 });
  expect(github.tokenRequests).toEqual([]);
});
