/** From loaded GitHub settings to what the controller and receiver take (used by `run` and the playground). */
import { createGitHubDeployments, type GitHubDeployments } from './github-deployments.js';
import type { GitHubSettings } from './github-settings.js';
import { createGitHubApp } from './installation-tokens.js';

/** The controller's `github` option, when an App is configured. */
export function gitHubReporting(
  settings: GitHubSettings | undefined,
): { deployments: GitHubDeployments; logUrlTemplate?: string } | undefined {
  if (!settings?.app) return undefined;
  const app = createGitHubApp({ ...settings.app, apiUrl: settings.apiUrl });
  return {
    deployments: createGitHubDeployments(app, settings.apiUrl),
    logUrlTemplate: settings.logUrlTemplate,
  };
}

/** The receiver's `github` option, when a webhook secret is configured. */
export function gitHubWebhooks(
  settings: GitHubSettings | undefined,
): { webhookSecret: string; apiUrl: string; webhookMaxAgeSeconds: number } | undefined {
  if (!settings?.webhookSecret) return undefined;
  return {
    webhookSecret: settings.webhookSecret,
    apiUrl: settings.apiUrl,
    webhookMaxAgeSeconds: settings.webhookMaxAgeSeconds,
  };
}
