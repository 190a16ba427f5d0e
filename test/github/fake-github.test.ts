/** The fake GitHub itself: it refuses what GitHub's OpenAPI description refuses, and answers as it documents. */
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';
import { githubOpenApi } from '../support/github-openapi.js';

let github: FakeGitHub;
beforeEach(async () => {
  github = await startFakeGitHub();
});
afterEach(async () => {
  github.violations.length = 0;
  await github.close();
});

test('requests outside the description are refused and recorded as violations', async () => {
  const post = (path: string, body: unknown): Promise<Response> =>
    fetch(`${github.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  expect((await post('/repos/acme/web/deployments', { environment: 'prod' })).status).toBe(422); // ref missing
  expect((await post('/repos/acme/web/deployments', { ref: 'abc', auto_merge: 'no' })).status).toBe(422);
  expect((await post('/repos/acme/web/deployments', { ref: 'abc', contents: 'write' })).status).toBe(422);
  expect((await post('/repos/acme/web/deployments/12/statuses', { state: 'done' })).status).toBe(422);
  expect((await post('/repos/acme/web/deployments/twelve/statuses', { state: 'success' })).status).toBe(422);
  expect((await fetch(`${github.url}/repos/acme/web/deployments?colour=red`)).status).toBe(422);
  expect((await post('/no/such/endpoint', {})).status).toBe(404);
  expect(github.violations).toEqual([
    expect.stringContaining("body must have required property 'ref'"),
    expect.stringContaining('body/auto_merge must be boolean'),
    expect.stringContaining('body has unknown field contents'),
    expect.stringContaining('body/state must be equal to one of the allowed values'),
    expect.stringContaining('path parameter deployment_id must be an integer'),
    expect.stringContaining('unknown query parameter colour'),
    expect.stringContaining('GitHub has no such endpoint'),
  ]);
});

test('the response validator rejects answers the description does not document', () => {
  const found = githubOpenApi().find('POST', '/repos/acme/web/deployments');
  expect(found?.operation.operationId).toBe('repos/create-deployment');
  expect(found?.operation.validateResponse(201, { id: 'not a number' })).not.toEqual([]);
  expect(found?.operation.validateResponse(418, {})).toEqual([
    'status 418 is not documented for POST /repos/{owner}/{repo}/deployments',
  ]);
});

test('repository calls need an installation token scoped to the repository with deployments:write', async () => {
  const response = await fetch(`${github.url}/repos/acme/web/deployments`, {
    method: 'POST',
    headers: { authorization: 'token ghs_forged', 'content-type': 'application/json' },
    body: JSON.stringify({ ref: 'abc' }),
  });
  expect(response.status).toBe(401);
  expect(github.deployments()).toEqual([]);
});
