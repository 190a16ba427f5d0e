import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { defaultGitHubClaims, startLocalOidcIssuer } from '../../src/playground/oidc-issuer.js';
import { createTestCa } from '../support/test-pki.js';

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

test('serves HTTPS with a given certificate, naming the address clients reach it at', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyless-issuer-tls-'));
  const ca = createTestCa(dir);
  const cert = ca.issueServing('issuer', ['issuer.test'], ['127.0.0.1']);
  const issuer = await startLocalOidcIssuer({
    tls: { key: cert.keyPem, cert: cert.certPem },
    publicHost: 'issuer.test',
  });
  try {
    const port = new URL(issuer.issuer).port;
    expect(issuer.issuer).toBe(`https://issuer.test:${port}`);
    const get = (options: { ca?: string }) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        httpsGet(
          {
            host: '127.0.0.1',
            port,
            path: '/.well-known/openid-configuration',
            servername: 'issuer.test',
            ...options,
          },
          (response) => {
            let body = '';
            response.on('data', (chunk: Buffer) => (body += chunk.toString()));
            response.on('end', () => resolve(JSON.parse(body) as Record<string, unknown>));
          },
        ).on('error', reject);
      });
    expect(await get({ ca: ca.certPem })).toMatchObject({
      issuer: issuer.issuer,
      jwks_uri: `${issuer.issuer}/.well-known/jwks`,
    });
    // Only clients that trust the CA get an answer.
    await expect(get({})).rejects.toThrow(
      /self-signed certificate|unable to verify|unable to get local issuer/,
    );
    const token = await issuer.mint({}, { audience: 'aud' });
    expect(decodeJwt(token).iss).toBe(issuer.issuer);
  } finally {
    await issuer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
