/** `keyless-deploy token`: mint a token from a running playground's OIDC issuer. */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readPlaygroundInfo } from '../../playground/playground.js';
import { EXIT, UsageError, type CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-args.js';

export const TOKEN_HELP = `Usage: keyless-deploy token [--state-dir DIR] [--claim NAME=VALUE ...]

Mints a GitHub Actions-shaped OIDC token from the playground's local issuer (playground only: it
cannot mint tokens any real receiver trusts) and prints it. By default the token carries the claims
the demo policy allows (playground.json "demo.claims"); each --claim overrides one claim.

Options:
  --state-dir DIR        The playground's state dir (default .playground)
  --claim NAME=VALUE     Set a claim (repeatable), e.g. --claim ref=refs/heads/dev
  -h, --help             Show this help

Exit codes: 0 printed a token, 1 the playground is not running or refused, 2 usage error.

Example:
  TOKEN=$(keyless-deploy token --state-dir .playground --claim environment=production)
`;

/** Run the token command. */
export async function tokenCommand(
  args: string[],
  io: CliIo,
  fetchImpl: typeof fetch = fetch,
): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    'state-dir': { type: 'string' },
    claim: { type: 'string', multiple: true },
  });
  if (values.help) {
    io.stdout(TOKEN_HELP);
    return EXIT.ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const stateDir = resolve((values['state-dir'] as string | undefined) ?? '.playground');
  const overrides: Record<string, string> = {};
  for (const pair of (values.claim as string[] | undefined) ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--claim ${pair}: expected NAME=VALUE`);
    overrides[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const info = readPlaygroundInfo(stateDir);
  const claims: Record<string, string> = { ...(info.demo?.claims ?? {}), ...overrides };
  const secret = readFileSync(join(stateDir, 'control-secret'), 'utf8').trim();
  const response = await fetchImpl(`${info.control}/mint`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ claims }),
  });
  const body = (await response.json()) as { token?: string; error?: string };
  if (!response.ok || !body.token) {
    io.stderr(`keyless-deploy token: the playground refused: ${body.error ?? response.status}\n`);
    return EXIT.failure;
  }
  io.stdout(`${body.token}\n`);
  return EXIT.ok;
}
