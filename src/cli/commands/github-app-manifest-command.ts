/** `keyless-deploy github-app-manifest`: print the GitHub App manifest with exactly the rights needed. */
import { githubAppManifest } from '../../github/github-app-manifest.js';
import { EXIT, UsageError, type CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-args.js';

export const GITHUB_APP_MANIFEST_HELP = `Usage: keyless-deploy github-app-manifest [--name NAME] [--receiver-url URL] [--public]

Prints the manifest of the GitHub App keyless-deploy needs, as JSON: permissions deployments:write
and metadata:read (GitHub requires it of every App) and the event "deployment". No contents, no
other write permission. Register it through GitHub's manifest flow (docs/github-app.md explains
it, also for GitHub Enterprise Server), then store the App id, private key and webhook secret in
a Secret.

Options:
  --name NAME           App name (default keyless-deploy)
  --receiver-url URL    The receiver's public https URL; webhooks go to URL/v1/github/webhook.
                        Without it the App has no webhook (reporting only).
  --homepage-url URL    The App's homepage
  --public              Let other accounts install the App (default: only the owner)
  -h, --help            Show this help

Exit codes: 0 printed, 2 usage error.

Example:
  keyless-deploy github-app-manifest --name acme-deploy --receiver-url https://deploy.acme.example > manifest.json
`;

function httpsUrl(value: unknown, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const text = String(value);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--${flag} ${text} is not a URL`);
  }
  if (url.protocol !== 'https:')
    throw new UsageError(`--${flag} must be an https URL (GitHub delivers webhooks over TLS)`);
  return text;
}

/** Run the github-app-manifest command. */
export async function githubAppManifestCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    name: { type: 'string' },
    'receiver-url': { type: 'string' },
    'homepage-url': { type: 'string' },
    public: { type: 'boolean' },
  });
  if (values.help) {
    io.stdout(GITHUB_APP_MANIFEST_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const name = (values.name as string | undefined) ?? 'keyless-deploy';
  if (name.length > 34 || !/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/.test(name))
    throw new UsageError('--name must be at most 34 letters, digits, spaces, dots, dashes or underscores');
  const manifest = githubAppManifest({
    name,
    receiverUrl: httpsUrl(values['receiver-url'], 'receiver-url'),
    homepageUrl: httpsUrl(values['homepage-url'], 'homepage-url'),
    public: values.public === true,
  });
  io.stdout(`${JSON.stringify(manifest, null, 2)}\n`);
  return EXIT.ok;
}
