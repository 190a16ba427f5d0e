/**
 * A fake GitHub REST API on loopback for the App's calls. Every request is checked against GitHub's
 * OpenAPI description (method, path, parameters, body schema; unknown body fields refused); a
 * request that fails is answered 422 and recorded as a violation, and `close()` throws when there
 * were any. Every 2xx answer is itself validated against the documented response schema.
 *
 * Behaviour follows GitHub's documentation: App JWTs (RS256, `iss` = app id, at most 10 minutes)
 * for `/app/...` and the installation lookup; installation tokens scoped to repositories and
 * permissions for repository calls (403 "Resource not accessible by integration" otherwise); 422
 * when a token asks for a permission the installation lacks; primary rate limits as 403 with
 * `x-ratelimit-remaining: 0` and `x-ratelimit-reset`, secondary ones as 429 with `retry-after`.
 * Known differences: one App, no pagination (everything fits on one page), no webhooks sent.
 */
import { appendFileSync } from 'node:fs';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';
import { createGitHubDeployments, type GitHubDeployments } from '../../src/github/github-deployments.js';
import { createGitHubApp } from '../../src/github/installation-tokens.js';
import { githubOpenApi } from './github-openapi.js';

export interface FakeRepository {
  owner: string;
  name: string;
  id: number;
  ownerId: number;
}

/** The test repository (`acme/web`, the ids WEB_POLICY allows), as installed in most tests. */
export const ACME_WEB: FakeRepository = { owner: 'acme', name: 'web', id: 100000001, ownerId: 100000000 };

export interface RecordedCall {
  method: string;
  path: string;
  operationId?: string;
  status: number;
  body?: unknown;
}

export interface TokenRequest {
  installationId: number;
  repository_ids?: number[];
  repositories?: string[];
  permissions?: Record<string, string>;
}

export interface FakeDeployment {
  id: number;
  repository: string;
  body: Record<string, unknown>;
  statuses: Array<Record<string, unknown>>;
}

/** What the App was granted when installed: exactly what the manifest asks for. */
const INSTALLATION_PERMISSIONS: Record<string, string> = { deployments: 'write', metadata: 'read' };

export interface FakeGitHub {
  /** API base URL (like https://api.github.com or https://HOST/api/v3). */
  url: string;
  appId: number;
  /** PEM (PKCS#1, as GitHub hands it out) of the App's private key. */
  privateKeyPem: string;
  install(repository: FakeRepository): number;
  calls: RecordedCall[];
  tokenRequests: TokenRequest[];
  violations: string[];
  deployments(): FakeDeployment[];
  /** Create a deployment as a workflow's GITHUB_TOKEN would (for webhook tests). */
  createDeployment(repository: string, body: Record<string, unknown>): FakeDeployment;
  /** Every request answers 503 while down. */
  setDown(down: boolean): void;
  /** Rate limit every request for `ms`: `primary` (403 + x-ratelimit-reset) or `secondary` (429 + retry-after). */
  rateLimit(ms: number, kind: 'primary' | 'secondary'): void;
  /** The next `count` requests answer `status`. */
  failNext(status: number, count?: number): void;
  close(): Promise<void>;
}

interface Token {
  installationId: number;
  repositoryIds: number[];
  permissions: Record<string, string>;
  expiresAt: number;
}

function user(login: string, id: number, base: string): Record<string, unknown> {
  const url = `${base}/users/${login}`;
  return {
    login,
    id,
    node_id: `U_${id}`,
    avatar_url: `https://avatars.example.com/u/${id}`,
    gravatar_id: '',
    url,
    html_url: `https://github.example.com/${login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type: 'Bot',
    site_admin: false,
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Start the fake on 127.0.0.1 with a fresh App key pair. */
export async function startFakeGitHub(
  options: {
    /** Serve under a path, as GHES serves /api/v3. */
    pathPrefix?: string;
    /** Misbehave: grant these permissions on top of what a token asks for. */
    grantExtra?: Record<string, string>;
  } = {},
): Promise<FakeGitHub> {
  const openapi = githubOpenApi();
  const prefix = options.pathPrefix ?? '';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const appId = 4242;
  const repositories = new Map<string, FakeRepository & { installationId: number }>();
  const tokens = new Map<string, Token>();
  const deployments: FakeDeployment[] = [];
  const calls: RecordedCall[] = [];
  const tokenRequests: TokenRequest[] = [];
  const violations: string[] = [];
  let nextId = 1000;
  let down = false;
  let limitedUntil = 0;
  let limitKind: 'primary' | 'secondary' = 'primary';
  const failures: number[] = [];
  let base = '';
  const bot = (): Record<string, unknown> => user('keyless-deploy[bot]', 9000, base);

  const repoUrl = (full: string): string => `${base}/repos/${full}`;
  const deploymentJson = (d: FakeDeployment): Record<string, unknown> => {
    const body = d.body;
    const environment = (body.environment as string | undefined) ?? 'production';
    return {
      url: `${repoUrl(d.repository)}/deployments/${d.id}`,
      id: d.id,
      node_id: `DE_${d.id}`,
      sha: body.ref,
      ref: body.ref,
      task: (body.task as string | undefined) ?? 'deploy',
      payload: body.payload ?? {},
      original_environment: environment,
      environment,
      description: (body.description as string | undefined) ?? null,
      creator: bot(),
      created_at: body.created_at ?? new Date().toISOString(),
      updated_at: new Date().toISOString(),
      statuses_url: `${repoUrl(d.repository)}/deployments/${d.id}/statuses`,
      repository_url: repoUrl(d.repository),
      transient_environment: body.transient_environment === true,
      production_environment: body.production_environment ?? environment === 'production',
    };
  };

  async function verifyAppJwt(header: string | undefined): Promise<boolean> {
    const match = /^(?:bearer|token) (.+)$/i.exec(header ?? '');
    if (!match) return false;
    try {
      const { payload } = await jwtVerify(match[1] as string, publicKey as KeyObject, {
        algorithms: ['RS256'],
      });
      return String(payload.iss) === String(appId) && (payload.exp ?? 0) - (payload.iat ?? 0) <= 660;
    } catch {
      return false;
    }
  }

  function installationToken(header: string | undefined): Token | undefined {
    const match = /^(?:bearer|token) (ghs_\w+)$/i.exec(header ?? '');
    const token = match ? tokens.get(match[1] as string) : undefined;
    return token && token.expiresAt > Date.now() ? token : undefined;
  }

  type Answer = { status: number; body?: unknown; headers?: Record<string, string> };
  const error = (status: number, message: string): Answer => ({
    status,
    body: { message, documentation_url: 'https://docs.github.com/rest', status: String(status) },
  });

  async function route(
    operationId: string,
    params: Record<string, string>,
    query: URLSearchParams,
    body: Record<string, unknown>,
    authorization: string | undefined,
  ): Promise<Answer> {
    const full = params.owner && params.repo ? `${params.owner}/${params.repo}` : '';
    const repository = full ? repositories.get(full.toLowerCase()) : undefined;
    if (
      operationId === 'apps/get-repo-installation' ||
      operationId === 'apps/create-installation-access-token'
    ) {
      if (!(await verifyAppJwt(authorization))) return error(401, 'A JSON web token could not be decoded');
    }
    switch (operationId) {
      case 'apps/get-repo-installation': {
        if (!repository) return error(404, 'Not Found');
        const now = new Date().toISOString();
        return {
          status: 200,
          body: {
            id: repository.installationId,
            account: user(repository.owner, repository.ownerId, base),
            repository_selection: 'selected',
            access_tokens_url: `${base}/app/installations/${repository.installationId}/access_tokens`,
            repositories_url: `${base}/installation/repositories`,
            html_url: `https://github.example.com/settings/installations/${repository.installationId}`,
            app_id: appId,
            target_id: repository.ownerId,
            target_type: 'Organization',
            permissions: INSTALLATION_PERMISSIONS,
            events: ['deployment'],
            created_at: now,
            updated_at: now,
            single_file_name: null,
            app_slug: 'keyless-deploy',
            suspended_by: null,
            suspended_at: null,
          },
        };
      }
      case 'apps/create-installation-access-token': {
        const installationId = Number(params.installation_id);
        const request: TokenRequest = {
          installationId,
          ...(body.repository_ids ? { repository_ids: body.repository_ids as number[] } : {}),
          ...(body.repositories ? { repositories: body.repositories as string[] } : {}),
          ...(body.permissions ? { permissions: body.permissions as Record<string, string> } : {}),
        };
        tokenRequests.push(request);
        if (process.env.KEYLESS_GITHUB_TOKEN_AUDIT)
          appendFileSync(process.env.KEYLESS_GITHUB_TOKEN_AUDIT, `${JSON.stringify(request)}\n`);
        const installed = [...repositories.values()].filter((r) => r.installationId === installationId);
        if (installed.length === 0) return error(404, 'Not Found');
        const asked = (body.permissions as Record<string, string> | undefined) ?? INSTALLATION_PERMISSIONS;
        for (const [name, level] of Object.entries(asked)) {
          const granted = INSTALLATION_PERMISSIONS[name];
          if (!granted || (granted === 'read' && level === 'write'))
            return error(422, 'The permissions requested are not granted to this installation.');
        }
        const ids = (body.repository_ids as number[] | undefined) ?? installed.map((r) => r.id);
        if (ids.some((id) => !installed.some((r) => r.id === id)))
          return error(
            422,
            'There is at least one repository that does not exist or is not accessible to the parent installation.',
          );
        const token = `ghs_${randomBytes(18).toString('hex')}`;
        const expiresAt = Date.now() + 3600_000;
        tokens.set(token, {
          installationId,
          repositoryIds: ids,
          permissions: { ...asked, metadata: 'read' },
          expiresAt,
        });
        return {
          status: 201,
          body: {
            token,
            expires_at: new Date(expiresAt).toISOString().replace(/\.\d{3}Z$/, 'Z'),
            permissions: { ...asked, metadata: 'read', ...options.grantExtra },
            repository_selection: 'selected',
          },
        };
      }
      default:
        break;
    }
    // Repository calls with an installation token.
    const token = installationToken(authorization);
    if (!token) return error(401, 'Bad credentials');
    if (!repository) return error(404, 'Not Found');
    if (!token.repositoryIds.includes(repository.id)) return error(404, 'Not Found');
    const write = ['repos/create-deployment', 'repos/create-deployment-status'].includes(operationId);
    const level = token.permissions.deployments;
    if (!level || (write && level !== 'write')) return error(403, 'Resource not accessible by integration');
    const find = (): FakeDeployment | undefined =>
      deployments.find((d) => d.repository === full && d.id === Number(params.deployment_id));
    switch (operationId) {
      case 'repos/create-deployment': {
        const deployment: FakeDeployment = {
          id: nextId++,
          repository: full,
          body: { ...body },
          statuses: [],
        };
        deployments.push(deployment);
        return { status: 201, body: deploymentJson(deployment) };
      }
      case 'repos/list-deployments': {
        const matches = deployments.filter(
          (d) =>
            d.repository === full &&
            (!query.get('sha') || d.body.ref === query.get('sha')) &&
            (!query.get('environment') || (d.body.environment ?? 'production') === query.get('environment')),
        );
        return { status: 200, body: matches.reverse().map(deploymentJson) };
      }
      case 'repos/get-deployment': {
        const deployment = find();
        return deployment ? { status: 200, body: deploymentJson(deployment) } : error(404, 'Not Found');
      }
      case 'repos/create-deployment-status': {
        const deployment = find();
        if (!deployment) return error(404, 'Not Found');
        const description = (body.description as string | undefined) ?? '';
        if (description.length > 140)
          return error(422, 'Validation Failed: description is too long (maximum is 140 characters)');
        const id = nextId++;
        const status = {
          url: `${repoUrl(full)}/deployments/${deployment.id}/statuses/${id}`,
          id,
          node_id: `DES_${id}`,
          state: body.state,
          creator: bot(),
          description,
          environment:
            (body.environment as string | undefined) ?? deployment.body.environment ?? 'production',
          target_url: (body.log_url as string | undefined) ?? (body.target_url as string | undefined) ?? '',
          log_url: (body.log_url as string | undefined) ?? '',
          environment_url: (body.environment_url as string | undefined) ?? '',
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
          deployment_url: `${repoUrl(full)}/deployments/${deployment.id}`,
          repository_url: repoUrl(full),
        };
        deployment.statuses.push(status);
        return { status: 201, body: status };
      }
      case 'repos/list-deployment-statuses': {
        const deployment = find();
        return deployment
          ? { status: 200, body: [...deployment.statuses].reverse() }
          : error(404, 'Not Found');
      }
      default:
        return error(404, `the fake does not implement ${operationId}`);
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) : url.pathname;
    const method = request.method ?? 'GET';
    const text = await readBody(request);
    const send = (answer: Answer, operationId?: string, body?: unknown): void => {
      calls.push({ method, path, operationId, status: answer.status, body });
      response.writeHead(answer.status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-request-id': randomBytes(4).toString('hex'),
        'x-ratelimit-limit': '5000',
        'x-ratelimit-remaining': '4999',
        'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
        ...answer.headers,
      });
      response.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    };
    const found = openapi.find(method, path);
    if (!found) {
      violations.push(`${method} ${path}: GitHub has no such endpoint`);
      return send(error(404, 'Not Found'));
    }
    const { operation, params } = found;
    let body: unknown;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        violations.push(`${method} ${path}: body is not JSON`);
        return send(error(400, 'Problems parsing JSON'), operation.operationId);
      }
    }
    const problems = operation.validateRequest(params, url.searchParams, body);
    if (problems.length > 0) {
      violations.push(`${method} ${path} (${operation.operationId}): ${problems.join('; ')}`);
      return send(error(422, `Invalid request.\n\n${problems.join('\n')}`), operation.operationId, body);
    }
    if (down) return send(error(503, 'Service Unavailable'), operation.operationId, body);
    if (Date.now() < limitedUntil) {
      const reset = Math.ceil(limitedUntil / 1000);
      return send(
        limitKind === 'primary'
          ? {
              ...error(403, 'API rate limit exceeded for installation.'),
              headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) },
            }
          : {
              ...error(429, 'You have exceeded a secondary rate limit.'),
              headers: { 'retry-after': String(Math.max(1, Math.ceil((limitedUntil - Date.now()) / 1000))) },
            },
        operation.operationId,
        body,
      );
    }
    const failure = failures.shift();
    if (failure !== undefined) return send(error(failure, 'injected failure'), operation.operationId, body);
    const answer = await route(
      operation.operationId,
      params,
      url.searchParams,
      (body ?? {}) as Record<string, unknown>,
      request.headers.authorization,
    );
    if (answer.status < 300) {
      const wrong = operation.validateResponse(answer.status, answer.body);
      if (wrong.length > 0) violations.push(`fake answer to ${operation.operationId}: ${wrong.join('; ')}`);
    }
    send(answer, operation.operationId, body);
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      violations.push(`fake crashed: ${String(error)}`);
      response.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${prefix}`;

  return {
    url: base,
    appId,
    privateKeyPem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    install(repository) {
      const existing = [...repositories.values()].find((r) => r.owner === repository.owner);
      const installationId = existing?.installationId ?? nextId++;
      repositories.set(`${repository.owner}/${repository.name}`.toLowerCase(), {
        ...repository,
        installationId,
      });
      return installationId;
    },
    calls,
    tokenRequests,
    violations,
    deployments: () => deployments,
    createDeployment(repository, body) {
      const deployment: FakeDeployment = { id: nextId++, repository, body, statuses: [] };
      deployments.push(deployment);
      return deployment;
    },
    setDown(value) {
      down = value;
    },
    rateLimit(ms, kind) {
      limitedUntil = Date.now() + ms;
      limitKind = kind;
    },
    failNext(status, count = 1) {
      for (let i = 0; i < count; i++) failures.push(status);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (violations.length > 0) throw new Error(`requests GitHub would refuse:\n${violations.join('\n')}`);
    },
  };
}

/** The project's GitHub Deployments client, as the App would use it against this fake. */
export function appDeployments(fake: FakeGitHub): GitHubDeployments {
  return createGitHubDeployments(
    createGitHubApp({ appId: String(fake.appId), privateKeyPem: fake.privateKeyPem, apiUrl: fake.url }),
    fake.url,
  );
}
