/**
 * Installation tokens of the GitHub App, and the only code that mints them. A token is asked for
 * exactly one repository and exactly `deployments: write`; anything else is refused before a
 * request is sent, and a token GitHub answers with broader rights is refused after. No code path
 * obtains a token that can touch contents (`App#getInstallationOctokit` mints one with every
 * permission the installation has, so it is never used).
 */
import { App } from '@octokit/app';
import { Octokit } from '@octokit/core';

/** The one permission set keyless-deploy ever asks for. */
export const DEPLOYMENTS_ONLY: Readonly<Record<string, string>> = Object.freeze({ deployments: 'write' });

/** Permissions GitHub adds to every installation token on its own. */
const IMPLIED = new Set(['metadata:read']);

/** A repository, as a verified identity names it. */
export interface RepositoryRef {
  /** `owner/name`. */
  fullName: string;
  /** Numeric id, as a string (as GitHub's claims carry it). */
  id: string;
}

/** The App's own client (JWT auth) for the API at `apiUrl`. */
export function createGitHubApp(options: { appId: string; privateKeyPem: string; apiUrl: string }): App {
  return new App({
    appId: options.appId,
    privateKey: options.privateKeyPem,
    Octokit: Octokit.defaults({ baseUrl: options.apiUrl, userAgent: 'keyless-deploy' }),
  });
}

function samePermissions(asked: Readonly<Record<string, string>>): boolean {
  const entries = Object.entries(asked);
  return entries.length === 1 && entries[0]?.[0] === 'deployments' && entries[0][1] === 'write';
}

/**
 * Mint an installation token for one repository with `deployments: write`. Throws, without calling
 * GitHub, when asked for any other permission or repository count; throws when GitHub's answer
 * grants more than asked.
 */
export async function mintDeploymentsToken(
  app: App,
  repository: RepositoryRef,
  permissions: Readonly<Record<string, string>> = DEPLOYMENTS_ONLY,
): Promise<{ token: string; expiresAt: number }> {
  if (!samePermissions(permissions))
    throw new Error(`refusing to mint a token with ${JSON.stringify(permissions)}: only deployments:write`);
  if (!/^\d+$/.test(repository.id)) throw new Error(`repository id '${repository.id}' is not numeric`);
  const [owner, repo] = repository.fullName.split('/');
  if (!owner || !repo) throw new Error(`'${repository.fullName}' is not owner/name`);
  const installation = await app.octokit.request('GET /repos/{owner}/{repo}/installation', { owner, repo });
  const answer = await app.octokit.request('POST /app/installations/{installation_id}/access_tokens', {
    installation_id: installation.data.id,
    repository_ids: [Number(repository.id)],
    permissions: { deployments: 'write' },
  });
  const granted = Object.entries(answer.data.permissions ?? {}).map(
    ([name, level]) => `${name}:${String(level)}`,
  );
  const extra = granted.filter((p) => p !== 'deployments:write' && !IMPLIED.has(p));
  if (extra.length > 0)
    throw new Error(`GitHub granted more than asked (${extra.join(', ')}); token discarded`);
  return { token: answer.data.token, expiresAt: Date.parse(answer.data.expires_at) };
}

/** Tokens per repository, minted on demand and reused until five minutes before they expire. */
export class InstallationTokens {
  private readonly cache = new Map<string, { token: string; expiresAt: number }>();

  constructor(
    private readonly app: App,
    private readonly now: () => number = Date.now,
  ) {}

  async forRepository(repository: RepositoryRef): Promise<string> {
    const cached = this.cache.get(repository.id);
    if (cached && cached.expiresAt - 5 * 60_000 > this.now()) return cached.token;
    const minted = await mintDeploymentsToken(this.app, repository);
    this.cache.set(repository.id, minted);
    return minted.token;
  }

  /** Forget a token GitHub refused (revoked, App reinstalled). */
  forget(repository: RepositoryRef): void {
    this.cache.delete(repository.id);
  }
}
