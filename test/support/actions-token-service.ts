/**
 * A local stand-in for GitHub Actions' OIDC token service (ACTIONS_ID_TOKEN_REQUEST_URL): answers
 * `GET ...&audience=AUD` with `{value: <token>}` when the bearer runtime token is right, minting
 * from the playground's issuer with the demo repository's claims.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalOidcIssuer } from '../../src/playground/oidc-issuer.js';

export const RUNTIME_TOKEN = 'actions-runtime-secret';

/** Claims of a push to main of the demo repository, through its release workflow. */
export const DEMO_WORKFLOW_CLAIMS = {
  repository: 'acme/web',
  repository_id: '100000001',
  repository_owner: 'acme',
  repository_owner_id: '100000000',
  ref: 'refs/heads/main',
  job_workflow_ref: 'acme/web/.github/workflows/release.yml@refs/heads/main',
};

export interface ActionsTokenService {
  /** Value for ACTIONS_ID_TOKEN_REQUEST_URL. */
  url: string;
  /** The environment a step in GitHub Actions sees. */
  env: () => NodeJS.ProcessEnv;
  /** Audiences requested so far. */
  audiences: string[];
  close(): Promise<void>;
}

export async function startActionsTokenService(issuer: LocalOidcIssuer): Promise<ActionsTokenService> {
  const audiences: string[] = [];
  const server: Server = createServer((request, response) => {
    if (request.headers.authorization !== `bearer ${RUNTIME_TOKEN}`)
      return void response.writeHead(401).end();
    const audience = new URL(request.url ?? '/', 'http://localhost').searchParams.get('audience') ?? '';
    audiences.push(audience);
    void issuer
      .mint(DEMO_WORKFLOW_CLAIMS, { audience })
      .then((value) =>
        response
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ count: 1, value })),
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token?api-version=2.0`;
  return {
    url,
    env: () => ({ ACTIONS_ID_TOKEN_REQUEST_URL: url, ACTIONS_ID_TOKEN_REQUEST_TOKEN: RUNTIME_TOKEN }),
    audiences,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
