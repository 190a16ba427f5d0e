/**
 * `POST /v1/dispatch`: verify the token, validate the body, pre-authorise against the namespace's
 * DeployPolicies, sign the spec and create the DeployRequest. The request name comes from the
 * token's `jti`, so a replayed token (same body) finds its existing request instead of creating a
 * second one, and a reused token with another body is refused (409 `token_reused`).
 */
import type { Request, Response } from 'express';
import { LABELS, type DeployRequestSpec } from '../api/types.js';
import { authenticate } from './authenticate.js';
import { parseDispatchBody } from './dispatch-body.js';
import { gatePass } from './dispatch-gate.js';
import { HttpError } from './http-error.js';
import { dispatchOutcome } from './dispatch-outcome.js';
import { readJsonBody } from './read-json-body.js';
import type { ReceiverContext } from './receiver-context.js';
import { recordRequest } from './record-request.js';
import { sendJson } from './send-json.js';
import { deriveRequestName } from './request-name.js';

/** Label carrying the token-derived hash of the request name (issuer + jti). */
export const TOKEN_HASH_LABEL = LABELS.tokenHash;

/** Handle one dispatch. Records the outcome metric on every path. */
export async function handleDispatch(ctx: ReceiverContext, req: Request, res: Response): Promise<void> {
  const log = res.locals.log as ReceiverContext['logger'];
  let outcome: string = 'error';
  try {
    // The dispatch gate verified the token of `/v1/dispatch`; other spellings express routes here too.
    const verified = gatePass(req)?.token ?? (await authenticate(req, ctx.verifier));
    const identity = verified.identity;
    const repoLog = log.child({ repository: identity.repository, repositoryId: identity.repositoryId });

    const limit = ctx.rateLimiter.take(identity.repositoryId);
    if (!limit.allowed) {
      throw new HttpError(429, 'rate_limited', `too many dispatches from ${identity.repository}`, undefined, {
        'Retry-After': String(limit.retryAfterSeconds),
      });
    }

    // The token was verified from the header before any body byte is read (a junk token is
    // refused without reading), and the rate limit taken: this read is authenticated and bounded
    // per repository; the body timeout still applies.
    const body = await readJsonBody(req, ctx.maxBodyBytes, ctx.bodyTimeoutMs);
    const input = parseDispatchBody(body, ctx.parseImageReference);
    const environment = boundEnvironment(input.environment, identity.environment);
    const spec: DeployRequestSpec = {
      target: input.target,
      images: input.images,
      ...(environment !== undefined ? { environment } : {}),
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      ...(input.payload !== undefined ? { payload: input.payload } : {}),
      source: { type: 'github-oidc', github: identity },
    };
    const namespace = input.namespace;
    const name = deriveRequestName(identity);
    const recorded = await recordRequest(ctx, repoLog, { namespace, name, spec, identity });
    const { stored, status } = recorded;
    outcome = recorded.outcome;

    const statusUrl = `${ctx.publicUrl ?? ''}/v1/requests/${namespace}/${name}`;
    repoLog.info(
      { namespace, name, status, target: spec.target },
      outcome === 'created' ? 'DeployRequest created' : 'token replayed',
    );
    res.setHeader('Location', statusUrl);
    sendJson(res, status, {
      namespace,
      name,
      statusUrl,
      phase: stored.status?.phase ?? 'Pending',
      ...(status === 200 ? { replayed: true } : {}),
      requestId: res.locals.requestId as string,
    });
  } catch (error) {
    if (error instanceof HttpError) outcome = dispatchOutcome(error);
    throw error;
  } finally {
    ctx.dispatches.inc({ outcome });
  }
}

/**
 * The request's environment: the token's, when it carries one (absent in the body: defaults to it;
 * another: refused, 400), else the body's (which no environment rule of a policy then accepts). A job
 * proves it passed an environment's protection rules only through its token's claim.
 */
export function boundEnvironment(body: string | undefined, token: string | undefined): string | undefined {
  if (token === undefined || body === undefined || body === token) return token ?? body;
  const message = `the token was issued to a job in environment ${JSON.stringify(token)}: environment must be ${JSON.stringify(token)} or absent, not ${JSON.stringify(body)}`;
  throw new HttpError(400, 'invalid_request', message, [{ field: 'environment', message }]);
}
