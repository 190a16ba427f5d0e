import { main } from '../../src/cli/main.js';
import { testIo } from '../support/cli-io.js';

test('the manifest asks for deployments:write and metadata:read, the deployment event, and nothing else', async () => {
  const io = testIo();
  expect(
    await main(
      ['github-app-manifest', '--name', 'acme-deploy', '--receiver-url', 'https://deploy.acme.example/'],
      io,
    ),
  ).toBe(0);
  expect(JSON.parse(io.out())).toEqual({
    name: 'acme-deploy',
    url: 'https://github.com/keyless-deploy/keyless-deploy',
    description: expect.any(String),
    public: false,
    default_permissions: { deployments: 'write', metadata: 'read' },
    default_events: ['deployment'],
    hook_attributes: { url: 'https://deploy.acme.example/v1/github/webhook', active: true },
  });
});

test('without a receiver URL the App has no webhook', async () => {
  const io = testIo();
  expect(await main(['github-app-manifest'], io)).toBe(0);
  expect(JSON.parse(io.out())).not.toHaveProperty('hook_attributes');
});

test.each([
  [['--receiver-url', 'http://deploy.acme.example'], 'must be an https URL'],
  [['--name', 'x'.repeat(35)], '--name must be at most 34'],
  [['extra'], 'unexpected argument extra'],
])('usage errors exit 2: %j', async (args, message) => {
  const io = testIo();
  expect(await main(['github-app-manifest', ...args], io)).toBe(2);
  expect(io.err()).toContain(message);
});

test('--help explains', async () => {
  const io = testIo();
  expect(await main(['github-app-manifest', '--help'], io)).toBe(0);
  expect(io.out()).toContain('deployments:write');
});
