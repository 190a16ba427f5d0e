/**
 * The narrow interface the reporter uses to talk to GitHub's Deployments API, and its
 * implementation over Octokit with per-repository installation tokens (`deployments: write` only).
 */
import type { App } from '@octokit/app';
import { Octokit } from '@octokit/core';
import { InstallationTokens, type RepositoryRef } from './installation-tokens.js';

export type DeploymentState = 'queued' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

export interface NewDeployment {
  ref: string;
  environment: string;
  description: string;
  payload: Record<string, unknown>;
  productionEnvironment: boolean;
  transientEnvironment: boolean;
}

export interface NewDeploymentStatus {
  state: DeploymentState;
  description: string;
  logUrl?: string;
  environmentUrl?: string;
}

export interface ExistingDeployment {
  id: string;
  url: string;
  payload: unknown;
}

/** What the reporter needs from GitHub. Errors carry `status` and `response.headers` like Octokit's. */
export interface GitHubDeployments {
  create(repository: RepositoryRef, deployment: NewDeployment): Promise<ExistingDeployment>;
  /** Deployments of a sha in an environment, newest first. */
  find(repository: RepositoryRef, sha: string, environment: string): Promise<ExistingDeployment[]>;
  addStatus(repository: RepositoryRef, deploymentId: string, status: NewDeploymentStatus): Promise<void>;
  /** States already set on a deployment by this App. */
  states(repository: RepositoryRef, deploymentId: string): Promise<string[]>;
}

const TIMEOUT_MS = 15_000;

/** GitHub's Deployments API through the App's installation tokens. */
export function createGitHubDeployments(
  app: App,
  apiUrl: string,
  tokens = new InstallationTokens(app),
): GitHubDeployments {
  const client = async (
    repository: RepositoryRef,
  ): Promise<{ octokit: Octokit; owner: string; repo: string }> => {
    const [owner = '', repo = ''] = repository.fullName.split('/');
    const token = await tokens.forRepository(repository);
    return {
      octokit: new Octokit({ auth: token, baseUrl: apiUrl, userAgent: 'keyless-deploy' }),
      owner,
      repo,
    };
  };
  const guarded = async <T>(repository: RepositoryRef, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      // A revoked token or a reinstalled App: mint a new token on the next try.
      if ((error as { status?: number }).status === 401) tokens.forget(repository);
      throw error;
    }
  };
  return {
    async create(repository, deployment) {
      const { octokit, owner, repo } = await client(repository);
      return guarded(repository, async () => {
        const answer = await octokit.request('POST /repos/{owner}/{repo}/deployments', {
          owner,
          repo,
          ref: deployment.ref,
          environment: deployment.environment,
          description: deployment.description,
          payload: deployment.payload,
          auto_merge: false,
          required_contexts: [],
          production_environment: deployment.productionEnvironment,
          transient_environment: deployment.transientEnvironment,
          request: { signal: AbortSignal.timeout(TIMEOUT_MS) },
        });
        if (answer.status !== 201 || !('id' in answer.data))
          throw Object.assign(
            new Error(`GitHub did not create the deployment: ${JSON.stringify(answer.data)}`),
            {
              status: 409,
            },
          );
        return { id: String(answer.data.id), url: answer.data.url, payload: answer.data.payload };
      });
    },
    async find(repository, sha, environment) {
      const { octokit, owner, repo } = await client(repository);
      return guarded(repository, async () => {
        const answer = await octokit.request('GET /repos/{owner}/{repo}/deployments', {
          owner,
          repo,
          sha,
          environment,
          per_page: 100,
          request: { signal: AbortSignal.timeout(TIMEOUT_MS) },
        });
        return answer.data.map((d) => ({ id: String(d.id), url: d.url, payload: d.payload }));
      });
    },
    async addStatus(repository, deploymentId, status) {
      const { octokit, owner, repo } = await client(repository);
      await guarded(repository, () =>
        octokit.request('POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses', {
          owner,
          repo,
          deployment_id: Number(deploymentId),
          state: status.state,
          description: status.description,
          ...(status.logUrl ? { log_url: status.logUrl } : {}),
          ...(status.environmentUrl ? { environment_url: status.environmentUrl } : {}),
          auto_inactive: false,
          request: { signal: AbortSignal.timeout(TIMEOUT_MS) },
        }),
      );
    },
    async states(repository, deploymentId) {
      const { octokit, owner, repo } = await client(repository);
      return guarded(repository, async () => {
        const answer = await octokit.request(
          'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses',
          {
            owner,
            repo,
            deployment_id: Number(deploymentId),
            per_page: 100,
            request: { signal: AbortSignal.timeout(TIMEOUT_MS) },
          },
        );
        return answer.data.map((s) => s.state);
      });
    },
  };
}
