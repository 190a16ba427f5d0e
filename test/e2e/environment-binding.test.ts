/**
 * Finding 4 of issue 13: the request's environment is bound to the token's `environment` claim.
 * Over real HTTP with tokens really signed by the playground's OIDC issuer, then through the
 * controller, which re-evaluates the policies against the identity recorded in the attestation.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DeployRequestSpec } from '../../src/api/types.js';
import { parseAttestationPrivateKey, signAttestation } from '../../src/attestation/index.js';
import type { RunningController } from '../../src/controller/controller-manager.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { startHarness, type Harness, type Request } from './harness.js';

let h: Harness;
let controller: RunningController;

beforeAll(async () => {
  h = await startHarness();
  controller = await h.controller();
  await h.scenario('env-prod', { environments: ['production'] });
  await h.scenario('env-open');
});
afterAll(async () => {
  await controller.stop();
  await h.close();
});

const requests = async (namespace: string): Promise<Request[]> =>
  (await h.kube.list<Request>(RESOURCE_TYPES.deployRequests, namespace)).items;

const body = (environment?: string) => ({
  target: 'web',
  image: 'ghcr.io/acme/web:3.0.0',
  ...(environment !== undefined ? { environment } : {}),
});

test('a token from a job in staging cannot name production: 400 naming the field, nothing created', async () => {
  const answer = await h.dispatch('env-prod', body('production'), { environment: 'staging' });
  expect(answer.status).toBe(400);
  expect(answer.body.message).toBe(
    'the token was issued to a job in environment "staging": environment must be "staging" or absent, not "production"',
  );
  expect(answer.body.details).toEqual([{ field: 'environment', message: expect.any(String) }]);
  // Also where no policy restricts environments (GitHub would show a production deployment).
  expect((await h.dispatch('env-open', body('production'), { environment: 'staging' })).status).toBe(400);
  expect([...(await requests('env-prod')), ...(await requests('env-open'))]).toEqual([]);
});

test('a token without an environment claim does not satisfy an environments rule by the body alone', async () => {
  const answer = await h.dispatch('env-prod', body('production'));
  expect(answer.status).toBe(403);
  expect(answer.body.message).toContain('the token carries no environment claim');
  expect(await requests('env-prod')).toEqual([]);
});

test('the token environment is the default, and deploys where the policy allows it', async () => {
  const answer = await h.dispatch('env-prod', body(), { environment: 'production' });
  expect(answer.status).toBe(202);
  const request = await h.waitFor('env-prod', String(answer.body.name), ['Succeeded', 'Denied', 'Failed']);
  expect([request.status?.phase, request.spec.environment]).toEqual(['Succeeded', 'production']);
  const same = await h.dispatch('env-prod', body('production'), { environment: 'production' });
  expect(same.status).toBe(202);
});

test('the controller agrees: an attested request whose environment is not its token environment is Denied', async () => {
  // What a receiver without the check (or a stolen signing key used carelessly) would have
  // recorded: a validly attested request from a staging job that names production.
  const keyPem = readFileSync(
    join(dirname(h.playground.attestationPublicKeyPath), 'attestation-key.pem'),
    'utf8',
  );
  const key = await parseAttestationPrivateKey(keyPem);
  const namespace = 'env-prod';
  const name = 'attested-staging-job';
  const spec: DeployRequestSpec = {
    target: { kind: 'Deployment', name: 'web' },
    images: [{ container: 'web', image: 'ghcr.io/acme/web:6.6.6' }],
    environment: 'production',
    requestedAt: new Date().toISOString(),
    source: {
      type: 'github-oidc',
      github: {
        issuer: h.playground.issuer.issuer,
        repository: 'acme/web',
        repositoryId: '100000001',
        repositoryOwner: 'acme',
        repositoryOwnerId: '100000000',
        ref: 'refs/heads/main',
        sha: 'a'.repeat(40),
        environment: 'staging',
        tokenId: 'attested-staging-job',
      },
    },
  };
  spec.source.attestation = await signAttestation({ namespace, name, spec }, key, new Date());
  await h.kube.create(RESOURCE_TYPES.deployRequests, {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployRequest',
    metadata: { name, namespace },
    spec,
  } as Request);
  const request = await h.waitFor(namespace, name, ['Denied', 'Succeeded', 'Failed']);
  expect(request.status?.phase).toBe('Denied');
  expect(request.status?.message).toContain(
    'the request names environment "production", but its token was issued to a job in "staging"',
  );
  expect(await h.images(namespace)).not.toContain('ghcr.io/acme/web:6.6.6');
});
