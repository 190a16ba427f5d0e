/**
 * `POST /v1/github/webhook`: the GitHub App's signed webhooks, the second way in. The body is read
 * raw and its `X-Hub-Signature-256` HMAC checked by `@octokit/webhooks` before anything is parsed.
 *
 * - `deployment` (created, task `deploy`): a workflow created a GitHub Deployment with its own
 *   `GITHUB_TOKEN` (`deployments: write` only). Its `payload` names the target like a dispatch body
 *   (`{namespace, target, image | images}`); the identity comes from the signed event (repository
 *   and owner ids, creator, sha, environment). A policy must allow it (`allowGitHubDeployments`).
 *   One DeployRequest per GitHub deployment id: redeliveries, whatever their `X-GitHub-Delivery`,
 *   find the existing one; events older than `KEYLESS_GITHUB_WEBHOOK_MAX_AGE` are refused, so an
 *   old signed event replayed after its request was collected cannot deploy again.
 * - `ping` and `installation`: acknowledged (and logged). Any other event: acknowledged, ignored.
 */
import type { Request, Response } from 'express';
import { Webhooks } from '@octokit/webhooks';
import type { DeployRequestSpec, GitHubIdentity } from '../api/types.js';
import { parseDispatchBody } from './dispatch-body.js';
import { HttpError } from './http-error.js';
import { parseJsonText, readBodyText } from './read-json-body.js';
import type { ReceiverContext } from './receiver-context.js';
import { recordRequest } from './record-request.js';
import { deriveRequestName } from './request-name.js';

export interface GitHubWebhookSettings {
  webhookSecret: string;
  /** API base URL of the GitHub the App lives on: the issuer recorded in identities. */
  apiUrl: string;
  webhookMaxAgeSeconds: number;
}

const DELIVERY_ID = /^[A-Za-z0-9-]{1,64}$/;
const EVENT_NAME = /^[a-z_]{1,64}$/;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function field(object: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((at, key) => (isObject(at) ? at[key] : undefined), object);
}

function requireString(event: Json, path: string): string {
  const value = field(event, path);
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw new HttpError(400, 'invalid_request', `deployment event has no ${path}`);
}

/** The handler, bound to the webhook settings. */
export function createGitHubWebhookHandler(
  settings: GitHubWebhookSettings,
): (ctx: ReceiverContext, req: Request, res: Response) => Promise<void> {
  const webhooks = new Webhooks({ secret: settings.webhookSecret });

  return async function handleGitHubWebhook(ctx, req, res) {
    const log = (res.locals.log as ReceiverContext['logger']).child({
      delivery: req.get('x-github-delivery'),
    });
    let outcome = 'error';
    try {
      const signature = req.get('x-hub-signature-256');
      if (!signature)
        throw new HttpError(401, 'invalid_token', 'X-Hub-Signature-256 is missing: webhooks must be signed');
      // Unauthenticated until the HMAC is checked: the read takes a slot of the shared bound, and
      // is cut at the webhook limit and the body timeout.
      const leave = ctx.unauthenticatedReads.enter();
      let text: string;
      try {
        text = await readBodyText(req, ctx.webhookMaxBodyBytes, ctx.bodyTimeoutMs);
      } finally {
        leave();
      }
      let valid = false;
      try {
        valid = await webhooks.verify(text, signature);
      } catch {
        valid = false;
      }
      if (!valid) throw new HttpError(401, 'invalid_token', 'the webhook signature does not match the body');
      const name = req.get('x-github-event') ?? '';
      const delivery = req.get('x-github-delivery') ?? '';
      if (!EVENT_NAME.test(name))
        throw new HttpError(400, 'invalid_request', 'X-GitHub-Event is missing or malformed');
      if (!DELIVERY_ID.test(delivery))
        throw new HttpError(400, 'invalid_request', 'X-GitHub-Delivery is missing or malformed');
      const event = parseJsonText(text);
      if (!isObject(event))
        throw new HttpError(400, 'invalid_request', 'the webhook body is not a JSON object');

      if (name === 'ping' || name === 'installation') {
        log.info(
          {
            event: name,
            action: event.action,
            installation: field(event, 'installation.id'),
            account: field(event, 'installation.account.login'),
          },
          'GitHub webhook acknowledged',
        );
        outcome = name;
        res.status(200).json({ ok: true, event: name });
        return;
      }
      if (
        name !== 'deployment' ||
        event.action !== 'created' ||
        field(event, 'deployment.task') !== 'deploy'
      ) {
        log.info({ event: name, action: event.action }, 'GitHub webhook ignored');
        outcome = 'ignored';
        res.status(200).json({ ok: true, ignored: true, event: name });
        return;
      }

      const recorded = await recordDeployment(ctx, log, settings, event);
      outcome = recorded.outcome;
      res.status(recorded.status).json({ ...recorded.body, requestId: res.locals.requestId as string });
    } catch (error) {
      if (error instanceof HttpError)
        outcome =
          error.status === 401
            ? 'unauthorized'
            : error.status === 403
              ? 'forbidden'
              : error.status === 503
                ? 'unavailable'
                : 'invalid';
      throw error;
    } finally {
      ctx.dispatches.inc({ outcome: `webhook_${outcome}` });
    }
  };
}

async function recordDeployment(
  ctx: ReceiverContext,
  log: ReceiverContext['logger'],
  settings: GitHubWebhookSettings,
  event: Json,
): Promise<{ status: number; outcome: string; body: Json }> {
  const deploymentId = requireString(event, 'deployment.id');
  const createdAt = Date.parse(requireString(event, 'deployment.created_at'));
  const age = (ctx.clock().getTime() - createdAt) / 1000;
  if (!Number.isFinite(createdAt) || age > settings.webhookMaxAgeSeconds || age < -300)
    throw new HttpError(
      400,
      'invalid_request',
      `deployment ${deploymentId} was created at ${String(field(event, 'deployment.created_at'))}, not within the last ${settings.webhookMaxAgeSeconds} s; refusing a stale or replayed event`,
    );
  const ref = field(event, 'deployment.ref');
  const visibility = field(event, 'repository.visibility');
  const identity: GitHubIdentity = {
    issuer: settings.apiUrl,
    repository: requireString(event, 'repository.full_name'),
    repositoryId: requireString(event, 'repository.id'),
    repositoryOwner: requireString(event, 'repository.owner.login'),
    repositoryOwnerId: requireString(event, 'repository.owner.id'),
    ...(typeof visibility === 'string' ? { repositoryVisibility: visibility } : {}),
    // Only a fully qualified ref is recorded: `main` could be a branch or a tag, and a policy's ref
    // rule must not guess. Deployments of unqualified refs match policies without ref rules only.
    ...(typeof ref === 'string' && ref.startsWith('refs/') ? { ref } : {}),
    sha: requireString(event, 'deployment.sha'),
    environment: requireString(event, 'deployment.environment'),
    eventName: 'deployment',
    actor: requireString(event, 'deployment.creator.login'),
    actorId: requireString(event, 'deployment.creator.id'),
    tokenId: deploymentId,
    deploymentId,
  };
  const repoLog = log.child({
    repository: identity.repository,
    repositoryId: identity.repositoryId,
    deploymentId,
  });
  const limit = ctx.rateLimiter.take(identity.repositoryId);
  if (!limit.allowed)
    throw new HttpError(429, 'rate_limited', `too many deployments from ${identity.repository}`, undefined, {
      'Retry-After': String(limit.retryAfterSeconds),
    });

  let payload = field(event, 'deployment.payload');
  if (typeof payload === 'string') {
    if (payload.length > 64 * 1024)
      throw new HttpError(413, 'payload_too_large', 'deployment payload is too large');
    payload = payload.trim() === '' ? {} : parseJsonText(payload);
  }
  if (!isObject(payload))
    throw new HttpError(
      400,
      'invalid_request',
      'deployment payload must be a JSON object naming namespace, target and image',
    );
  if ('environment' in payload)
    throw new HttpError(
      400,
      'invalid_request',
      "payload.environment: the environment is the deployment's own",
    );
  const input = parseDispatchBody(payload, ctx.parseImageReference);
  const spec: DeployRequestSpec = {
    target: input.target,
    images: input.images,
    environment: identity.environment as string,
    ...(input.reason !== undefined ? { reason: input.reason } : {}),
    ...(input.payload !== undefined ? { payload: input.payload } : {}),
    source: { type: 'github-deployment', github: identity },
  };
  const name = deriveRequestName(identity);
  const recorded = await recordRequest(ctx, repoLog, { namespace: input.namespace, name, spec, identity });
  repoLog.info(
    { namespace: input.namespace, name, status: recorded.status, target: spec.target },
    recorded.outcome === 'created'
      ? 'DeployRequest created from a GitHub deployment'
      : 'deployment event redelivered',
  );
  const statusUrl = `${ctx.publicUrl ?? ''}/v1/requests/${input.namespace}/${name}`;
  return {
    status: recorded.status,
    outcome: recorded.outcome,
    body: {
      namespace: input.namespace,
      name,
      statusUrl,
      phase: recorded.stored.status?.phase ?? 'Pending',
      ...(recorded.status === 200 ? { replayed: true } : {}),
    },
  };
}
