/**
 * The GitHub App manifest (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest):
 * exactly the permissions keyless-deploy uses (deployments write, metadata read, which GitHub
 * requires of every App) and the one event it acts on (deployment). Never contents.
 */

export interface ManifestOptions {
  /** App name shown on GitHub. */
  name: string;
  /** The receiver's public URL; webhooks go to `<url>/v1/github/webhook`. */
  receiverUrl?: string;
  /** Homepage of the App. */
  homepageUrl?: string;
  /** Installable by other accounts. Default false. */
  public?: boolean;
}

export const APP_PERMISSIONS = Object.freeze({ deployments: 'write', metadata: 'read' } as const);
export const APP_EVENTS = Object.freeze(['deployment'] as const);

/** The manifest as a JSON-ready object. */
export function githubAppManifest(options: ManifestOptions): Record<string, unknown> {
  const base = options.receiverUrl?.replace(/\/+$/, '');
  return {
    name: options.name,
    url: options.homepageUrl ?? 'https://github.com/keyless-deploy/keyless-deploy',
    description:
      'Deploys to Kubernetes on signed GitHub identity; reports deployment statuses. No access to code.',
    public: options.public ?? false,
    default_permissions: { ...APP_PERMISSIONS },
    default_events: [...APP_EVENTS],
    ...(base ? { hook_attributes: { url: `${base}/v1/github/webhook`, active: true } } : {}),
  };
}
