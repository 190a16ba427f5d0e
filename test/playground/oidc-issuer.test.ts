import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { defaultGitHubClaims, startLocalOidcIssuer } from '../../src/playground/oidc-issuer.js';

test('serves discovery and JWKS on loopback and mints GitHub-shaped tokens that verify', async () => {
  const issuer = await startLocalOidcIssuer();
  try {
    expect(issuer.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const discovery = (await (
      await fetch(`${issuer.issuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({ issuer: issuer.issuer, jwks_uri: `${issuer.issuer}/.well-known/jwks` });
    expect((await fetch(`${issuer.issuer}/nope`)).status).toBe(404);
    const token = await issuer.mint(
      { repository: 'other/app', environment: 'production' },
      { audience: 'aud-1' },
    );
    const header = decodeProtectedHeader(token);
    expect(header).toEqual({ typ: 'JWT', alg: 'RS256', kid: issuer.kid });
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(discovery.jwks_uri as string)), {
      issuer: issuer.issuer,
      audience: 'aud-1',
    });
    expect(payload).toMatchObject({
      repository: 'other/app',
      repository_owner: 'other',
      environment: 'production',
    });
    for (const [name, value] of Object.entries(payload)) {
      if (!['iat', 'nbf', 'exp'].includes(name)) expect([name, typeof value]).toEqual([name, 'string']);
    }
    expect((payload.exp as number) - (payload.iat as number)).toBe(300);
    // Every claim GitHub documents is present.
    for (const claim of [
      'jti',
      'sub',
      'ref',
      'sha',
      'repository_id',
      'repository_owner_id',
      'run_id',
      'run_number',
      'run_attempt',
      'actor_id',
      'workflow_ref',
      'job_workflow_ref',
      'job_workflow_sha',
      'runner_environment',
      'event_name',
      'ref_type',
      'repository_visibility',
    ]) {
      expect(payload).toHaveProperty(claim);
    }
    issuer.setAvailable(false);
    expect((await fetch(`${issuer.issuer}/.well-known/jwks`)).status).toBe(503);
  } finally {
    await issuer.close();
  }
});

test('defaultGitHubClaims: fresh jti each time, overrides and removal', () => {
  const a = defaultGitHubClaims();
  const b = defaultGitHubClaims({ environment: 'staging', actor: undefined });
  expect(a.jti).not.toBe(b.jti);
  expect(b.environment).toBe('staging');
  expect(b).not.toHaveProperty('actor');
});
