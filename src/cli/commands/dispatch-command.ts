/**
 * `keyless-deploy dispatch`: what an app repository's workflow runs after pushing an image. Inside
 * GitHub Actions it gets the job's OIDC token itself (ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN, with the
 * receiver's audience); elsewhere it takes --token. With --wait it follows the request to the end
 * and exits with a code that says how it ended.
 */
import { EXIT, UsageError, type CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-args.js';

/** Exit codes of dispatch (beyond 0 ok, 1 error, 2 usage). */
export const DISPATCH_EXIT = { ...EXIT, denied: 3, failed: 4, timeout: 5, superseded: 6 } as const;

export const DISPATCH_HELP = `Usage: keyless-deploy dispatch --url URL --namespace NS --target NAME --image IMAGE (--audience AUD | --token TOKEN) [options]

Asks the keyless-deploy receiver at URL to deploy IMAGE to workload NAME in namespace NS, proving
the workflow's identity with its GitHub Actions OIDC token: no secret, no repository-write token.

In GitHub Actions (permissions: id-token: write) the CLI requests a token for AUD itself, a fresh
one for every run; elsewhere pass --token (or KEYLESS_TOKEN), and --audience is not needed.
A token deploys once: sending it again with the same body answers with the request it already
made; with a different body the receiver refuses it (token_reused, exit 2). Mint one per dispatch.

Options:
  --url URL              Receiver base URL [KEYLESS_URL]
  --audience AUD         Audience to request the Actions token for [KEYLESS_AUDIENCE]
  -n, --namespace NS     Namespace of the workload
  --target NAME          Workload name (a Deployment, or KIND/NAME: StatefulSet/db, CronJob/report)
  --image IMAGE          New image; CONTAINER=IMAGE sets one container (repeatable)
  --environment ENV      Deployment environment
  --reason TEXT          Shown to humans (default: the commit message is not read; say it here)
  --token TOKEN          OIDC token, outside GitHub Actions [KEYLESS_TOKEN]
  --wait                 Follow the request until it ends, printing each phase as it changes
  --timeout SECONDS      Give up after this long, retries of busy answers included (default 900)
  -h, --help             Show this help

Busy answers (429, 503) are retried after the Retry-After the receiver sends, until --timeout.

Exit codes:
  0 deployed (or, without --wait, accepted)   1 error (network, server)   2 usage error, token reused
  3 denied or rejected                        4 failed or rolled back      5 timed out waiting
  6 superseded by a newer request

Example (GitHub Actions step):
  keyless-deploy dispatch --url https://deploy.example.com --audience https://deploy.example.com \\
    -n shop --target web --image ghcr.io/acme/web@sha256:... --environment production --wait
`;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** Fetches a token: from the Actions runtime (fresh on each call) or a fixed one. */
function tokenSource(
  io: CliIo,
  audience: string | undefined,
  fixed: string | undefined,
  fetchImpl: typeof fetch,
): () => Promise<string> {
  if (fixed) return async () => fixed;
  const url = io.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = io.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url || !bearer) {
    throw new UsageError(
      'no token: outside GitHub Actions pass --token (inside, grant the job "permissions: id-token: write")',
    );
  }
  // Only here is the audience used: the Actions token service mints a token for it.
  if (!audience)
    throw new UsageError('--audience is required (the audience the receiver is configured with)');
  return async () => {
    const request = new URL(url);
    request.searchParams.set('audience', audience);
    let response: Response;
    try {
      response = await fetchImpl(request, {
        headers: { authorization: `bearer ${bearer}`, accept: 'application/json' },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new Error(`cannot reach the Actions token service at ${request.origin}: ${networkCause(error)}`);
    }
    if (!response.ok) throw new Error(`the Actions token service answered ${response.status}`);
    const body = (await response.json()) as { value?: unknown };
    if (typeof body.value !== 'string' || body.value === '')
      throw new Error('the Actions token service returned no token');
    return body.value;
  };
}

/** How long one HTTP exchange may take before it counts as timed out (long polls add their wait). */
const REQUEST_TIMEOUT_MS = 30_000;
/** Longest single pause honoured from a Retry-After header. */
const MAX_RETRY_AFTER_S = 60;

/** What went wrong on the way to a server, in words: refused, DNS, TLS, timeout, reset. */
export function networkCause(error: unknown): string {
  const err = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timed out (no answer in time)';
  const code = err?.cause?.code ?? '';
  const detail = err?.cause?.message ?? err?.message ?? String(error);
  if (code === 'ECONNREFUSED') return 'connection refused (is the receiver running at that address?)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `DNS lookup failed (${code}): ${detail}`;
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return `timed out connecting (${code})`;
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return `the connection was closed (${code})`;
  if (/CERT|SSL|TLS|SIGNATURE|ERR_TLS/i.test(code) || /certificate|tls|ssl/i.test(detail))
    return `TLS failed (${code || 'handshake'}): ${detail}`;
  return code ? `${code}: ${detail}` : detail;
}

/** Seconds a Retry-After header asks for (delta-seconds or an HTTP date); undefined when absent. */
function retryAfterSeconds(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - nowMs) / 1000)) : undefined;
}

function parseImages(values: string[]): { image?: string; images?: Record<string, string> } {
  if (values.length === 0) throw new UsageError('--image is required');
  const named = values.filter((value) => /^[a-z0-9-]+=/.test(value));
  if (named.length === 0 && values.length === 1) return { image: values[0] };
  if (named.length !== values.length)
    throw new UsageError('with several --image flags, write each as CONTAINER=IMAGE');
  return {
    images: Object.fromEntries(
      named.map((value) => [value.slice(0, value.indexOf('=')), value.slice(value.indexOf('=') + 1)]),
    ),
  };
}

/** How a dispatch ended: the exit code, and the request's name and last phase when known. */
export interface DispatchResult {
  code: number;
  namespace?: string;
  name?: string;
  phase?: string;
  message?: string;
  /** The GitHub deployment reporting this request, when the App has created it. */
  deploymentUrl?: string;
}

/** Run the dispatch command; resolves with its exit code. */
export async function dispatchCommand(
  args: string[],
  io: CliIo,
  fetchImpl: typeof fetch = fetch,
): Promise<number> {
  return (await runDispatch(args, io, fetchImpl)).code;
}

/** Dispatch (and with --wait follow) a request; the GitHub Action uses the details. */
export async function runDispatch(
  args: string[],
  io: CliIo,
  fetchImpl: typeof fetch = fetch,
): Promise<DispatchResult> {
  const { values, positionals } = parseFlags(args, {
    url: { type: 'string' },
    audience: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    target: { type: 'string' },
    image: { type: 'string', multiple: true },
    environment: { type: 'string' },
    reason: { type: 'string' },
    token: { type: 'string' },
    wait: { type: 'boolean' },
    timeout: { type: 'string' },
  });
  if (values.help) {
    io.stdout(DISPATCH_HELP);
    return { code: EXIT.ok };
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
  const url = ((values.url as string | undefined) ?? io.env.KEYLESS_URL ?? '').replace(/\/+$/, '');
  if (!url || !URL.canParse(url) || !/^https?:/.test(url))
    throw new UsageError("--url must be the receiver's http(s) URL");
  const audience = (values.audience as string | undefined) ?? io.env.KEYLESS_AUDIENCE;
  const namespace = values.namespace as string | undefined;
  if (!namespace) throw new UsageError('--namespace is required');
  const target = values.target as string | undefined;
  if (!target) throw new UsageError('--target is required');
  const timeout = Number((values.timeout as string | undefined) ?? '900');
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86_400)
    throw new UsageError('--timeout must be a whole number of seconds from 1 to 86400');
  const body = {
    namespace,
    target,
    ...parseImages((values.image as string[] | undefined) ?? []),
    ...(values.environment ? { environment: values.environment } : {}),
    ...(values.reason ? { reason: values.reason } : {}),
  };
  const token = tokenSource(
    io,
    audience,
    (values.token as string | undefined) ?? io.env.KEYLESS_TOKEN,
    fetchImpl,
  );

  // One budget for the whole command: retries of 429/503 and waiting both end at the deadline.
  const deadline = Date.now() + timeout * 1000;
  const call = async (
    method: 'GET' | 'POST',
    path: string,
    options: { payload?: unknown; waitSeconds?: number; bearer?: string } = {},
  ): Promise<Answer> => {
    const target = `${url}${path}`;
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetchImpl(target, {
          method,
          headers: {
            authorization: `Bearer ${options.bearer ?? (await token())}`,
            ...(options.payload ? { 'content-type': 'application/json' } : {}),
          },
          ...(options.payload ? { body: JSON.stringify(options.payload) } : {}),
          // No exchange outlives --timeout (with a moment's grace for a long poll's answer).
          signal: AbortSignal.timeout(
            Math.max(
              1000,
              Math.min(REQUEST_TIMEOUT_MS + (options.waitSeconds ?? 0) * 1000, deadline - Date.now() + 2000),
            ),
          ),
        });
      } catch (error) {
        throw new Error(`cannot reach the receiver at ${target}: ${networkCause(error)}`);
      }
      const text = await response.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        parsed = { message: text.slice(0, 200) };
      }
      if (response.status !== 429 && response.status !== 503)
        return { status: response.status, body: parsed };
      const pause = Math.min(
        MAX_RETRY_AFTER_S,
        retryAfterSeconds(response.headers.get('retry-after'), Date.now()) ?? Math.min(2 ** attempt, 30),
      );
      const what = `${response.status} ${String(parsed.error ?? '')}`.trim();
      if (Date.now() + pause * 1000 > deadline) {
        io.stderr(
          `${what} from ${target} after ${attempt} attempt${attempt === 1 ? '' : 's'}; ` +
            `not retrying past --timeout ${timeout}s\n`,
        );
        return { status: response.status, body: parsed };
      }
      io.stderr(`${what}: ${String(parsed.message ?? '')}; retrying in ${pause}s (attempt ${attempt + 1})\n`);
      await new Promise((resolve) => setTimeout(resolve, pause * 1000));
    }
  };

  // The POST and its retries carry one token: a retry after a lost answer is then a replay of the
  // same request (200), never a second deploy.
  const dispatchToken = await token();
  const created = await call('POST', '/v1/dispatch', { payload: body, bearer: dispatchToken });
  if (created.status === 403) {
    io.stderr(`denied: ${String(created.body.message ?? 'forbidden')}\n`);
    return {
      code: DISPATCH_EXIT.denied,
      namespace,
      phase: 'Denied',
      message: String(created.body.message ?? ''),
    };
  }
  if (created.status === 409 && created.body.error === 'token_reused') {
    io.stderr(
      `dispatch refused (409 token_reused): ${String(created.body.message ?? '')}\n` +
        'Nothing was deployed. Mint a new token for every dispatch (in GitHub Actions, leave out --token: ' +
        'the CLI requests a fresh one itself).\n',
    );
    return { code: EXIT.usage, namespace, message: String(created.body.message ?? '') };
  }
  if (created.status !== 200 && created.status !== 202) {
    io.stderr(
      `dispatch failed (${created.status}): ${String(created.body.message ?? created.body.error ?? '')}\n`,
    );
    const usage = created.status === 400 || created.status === 413 || created.status === 415;
    return { code: usage ? EXIT.usage : EXIT.failure, namespace };
  }
  const name = String(created.body.name);
  const firstPhase = String(created.body.phase ?? 'Pending');
  io.stdout(
    `deployrequest ${namespace}/${name} ${created.status === 200 ? 'already exists (same token, same body)' : 'accepted'}: ${firstPhase}\n`,
  );
  if (!values.wait) return { code: EXIT.ok, namespace, name, phase: firstPhase };

  let lastLine = '';
  let lastPhase = firstPhase;
  let lastMessage: string | undefined;
  let deploymentUrl: string | undefined;
  while (Date.now() < deadline) {
    const wait = Math.max(1, Math.min(30, Math.ceil((deadline - Date.now()) / 1000)));
    // The receiver holds the answer until the phase differs from the one already shown (or the
    // request ends, or the wait runs out), so each change is printed as it happens.
    const answer = await call(
      'GET',
      `/v1/requests/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}?wait=${wait}&phase=${encodeURIComponent(lastPhase)}`,
      { waitSeconds: wait },
    );
    if (answer.status !== 200) {
      io.stderr(`status check failed (${answer.status}): ${String(answer.body.message ?? '')}\n`);
      return { code: EXIT.failure, namespace, name };
    }
    const phase = String(answer.body.phase ?? 'Pending');
    const line = `${phase}${answer.body.message ? `: ${String(answer.body.message)}` : ''}`;
    if (line !== lastLine) {
      const stamped = `${new Date().toISOString().slice(11, 19)} ${line}`;
      // A terminal gets one live line, redrawn in place; CI logs get one compact line per change.
      io.stdout(io.stdoutIsTTY ? `\r\u001b[K${stamped}` : `${stamped}\n`);
      lastLine = line;
    }
    lastPhase = phase;
    lastMessage = answer.body.message === undefined ? undefined : String(answer.body.message);
    if (typeof answer.body.githubDeployment === 'string') deploymentUrl = answer.body.githubDeployment;
    if (answer.body.finished === true) {
      if (io.stdoutIsTTY) io.stdout('\n');
      const code =
        phase === 'Succeeded'
          ? EXIT.ok
          : phase === 'Denied' || phase === 'Rejected'
            ? DISPATCH_EXIT.denied
            : phase === 'Superseded'
              ? DISPATCH_EXIT.superseded
              : DISPATCH_EXIT.failed;
      return {
        code,
        namespace,
        name,
        phase,
        message: lastMessage,
        ...(deploymentUrl ? { deploymentUrl } : {}),
      };
    }
  }
  if (io.stdoutIsTTY) io.stdout('\n');
  io.stderr(
    `timed out after ${timeout}s waiting for deployrequest ${namespace}/${name} (last: ${lastLine || 'Pending'})\n`,
  );
  return {
    code: DISPATCH_EXIT.timeout,
    namespace,
    name,
    phase: lastPhase,
    message: lastMessage,
    ...(deploymentUrl ? { deploymentUrl } : {}),
  };
}
