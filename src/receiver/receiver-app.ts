/**
 * The receiver's express app. All dependencies are injected so tests can run it against the embedded
 * API server, a local OIDC issuer and a fake clock.
 */
import { randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { DeployPolicy } from '../api/types.js';
import type { AttestationSigningKey } from '../attestation/attestation-keys.js';
import type { KubeClient, KubeObject } from '../kube/kube-client.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import { silentLogger, type Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import type { TokenVerifier } from '../oidc/token-verifier.js';
import { createBodyReadGate } from './body-read-gate.js';
import type { ImageReferenceParser } from './dispatch-body.js';
import { handleDispatch } from './dispatch-handler.js';
import { HttpError, sendError } from './http-error.js';
import type { PolicyCache } from './policy-cache.js';
import type { PolicyEvaluator } from './policy-port.js';
import { createRateLimiter, type RateLimitSettings } from './rate-limiter.js';
import type { ReceiverContext } from './receiver-context.js';
import { createGitHubWebhookHandler, type GitHubWebhookSettings } from './github-webhook-handler.js';
import { handleStatus } from './status-handler.js';

export interface ReceiverDeps {
  verifier: TokenVerifier;
  kube: KubeClient;
  attestationKey: AttestationSigningKey;
  /** `evaluatePolicies` from `src/policy`. */
  evaluatePolicies: PolicyEvaluator;
  /** `parseImageReference` from `src/policy`. */
  parseImageReference: ImageReferenceParser;
  /**
   * DeployPolicies of a namespace as the API server has them now. Default: a list call. Asked when
   * there is no `policyCache`, or when the cache admits nothing (it may lag behind a new policy).
   */
  listPolicies?: (namespace: string) => Promise<DeployPolicy[]>;
  /**
   * Cached DeployPolicies that may admit a dispatch without an API call (see `policy-cache.ts`).
   * `startReceiver` starts and stops it; readiness waits for it to fill.
   */
  policyCache?: PolicyCache;
  clock?: () => Date;
  logger?: Logger;
  metrics?: Metrics;
  /** Default 30 per minute, burst 10, per repository id. */
  rateLimit?: RateLimitSettings;
  /** Default 64 KiB. */
  maxBodyBytes?: number;
  /** Largest GitHub webhook body; default 64 KiB (real `deployment` events are about 8 KiB). */
  webhookMaxBodyBytes?: number;
  /**
   * Bodies read at once before their sender is authenticated (webhooks, before the HMAC check),
   * shared by every route; past it 503 with `Retry-After`. Default 32.
   */
  maxConcurrentBodyReads?: number;
  /** A body not complete within this is cut with 408; default 10 s. */
  bodyTimeoutMs?: number;
  /** Longest `?wait=`; default 60. */
  maxWaitSeconds?: number;
  /** Poll interval of long polls; default 1000 ms. */
  pollIntervalMs?: number;
  /** Base of `statusUrl`; relative when absent. */
  publicUrl?: string;
  /** Namespaces requests may target (the receiver's Roles cover only these); absent or empty: all. */
  namespaces?: readonly string[];
  /** GitHub App webhooks (`POST /v1/github/webhook`); absent: that route answers 404. */
  github?: GitHubWebhookSettings;
  /** Readiness (`/readyz`); default always ready. */
  isReady?: () => boolean;
  /** Abort to end long polls at shutdown. */
  shutdown?: AbortSignal;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Build the app. */
export function createReceiverApp(deps: ReceiverDeps): Express {
  const metrics = deps.metrics ?? createMetrics();
  const logger = deps.logger ?? silentLogger();
  const clock = deps.clock ?? (() => new Date());
  const ctx: ReceiverContext = {
    verifier: deps.verifier,
    kube: deps.kube,
    attestationKey: deps.attestationKey,
    evaluatePolicies: deps.evaluatePolicies,
    parseImageReference: deps.parseImageReference,
    listPolicies:
      deps.listPolicies ??
      (async (namespace) =>
        (await deps.kube.list<DeployPolicy & KubeObject>(RESOURCE_TYPES.deployPolicies, namespace)).items),
    cachedPolicies: deps.policyCache ? (namespace) => deps.policyCache?.list(namespace) : () => undefined,
    clock,
    logger,
    rateLimiter: createRateLimiter(deps.rateLimit ?? { perMinute: 30, burst: 10 }, () => clock().getTime()),
    maxBodyBytes: deps.maxBodyBytes ?? 64 * 1024,
    webhookMaxBodyBytes: deps.webhookMaxBodyBytes ?? 64 * 1024,
    bodyTimeoutMs: deps.bodyTimeoutMs ?? 10_000,
    unauthenticatedReads: createBodyReadGate(deps.maxConcurrentBodyReads ?? 32),
    maxWaitSeconds: deps.maxWaitSeconds ?? 60,
    pollIntervalMs: deps.pollIntervalMs ?? 1000,
    publicUrl: deps.publicUrl,
    namespaces: deps.namespaces ?? [],
    shutdown: deps.shutdown ?? new AbortController().signal,
    dispatches: metrics.counter('receiver_dispatches_total', 'Dispatch requests by outcome', ['outcome']),
  };
  const httpDuration = metrics.histogram(
    'receiver_http_request_duration_seconds',
    'HTTP requests served by the receiver',
    ['method', 'route', 'status'],
  );

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('etag', false);

  // Request id first: every later log line and every answer carries it.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    const log = logger.child({ requestId });
    res.locals.requestId = requestId;
    res.locals.log = log;
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('Cache-Control', 'no-store');
    const stop = httpDuration.startTimer();
    res.on('finish', () => {
      const route = (res.locals.route as string | undefined) ?? 'other';
      stop({ method: req.method, route, status: String(res.statusCode) });
      // Path only: the query has nothing secret today, but the path is all an operator needs.
      log.info({ method: req.method, path: req.path, status: res.statusCode }, 'request');
    });
    next();
  });

  const route =
    (name: string, handler: (ctx: ReceiverContext, req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response) => {
      res.locals.route = name;
      await handler(ctx, req, res);
    };

  app.post('/v1/dispatch', route('dispatch', handleDispatch));
  app.get('/v1/requests/:namespace/:name', route('status', handleStatus));
  if (deps.github)
    app.post('/v1/github/webhook', route('github_webhook', createGitHubWebhookHandler(deps.github)));
  app.get('/healthz', (_req, res) => {
    res.locals.route = 'healthz';
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    res.locals.route = 'readyz';
    const ready = deps.isReady ? deps.isReady() : true;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_req, res) => {
    res.locals.route = 'metrics';
    res.setHeader('Content-Type', metrics.contentType).send(await metrics.render());
  });
  app.use((req: Request) => {
    throw new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`);
  });
  // Express recognises error middleware by its four parameters.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const requestId = res.locals.requestId as string;
    const log = (res.locals.log as Logger | undefined) ?? logger;
    if (res.headersSent) {
      log.error({ err: (error as Error)?.message }, 'error after the answer started');
      res.end();
      return;
    }
    if (error instanceof HttpError) {
      if (error.status >= 500) log.warn({ status: error.status, message: error.message }, 'request failed');
      else log.info({ status: error.status, code: error.code, message: error.message }, 'request refused');
      sendError(res, error, requestId);
      return;
    }
    // Body-parser-style errors from express itself (e.g. aborted requests) carry a status.
    const status = (error as { status?: number })?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      sendError(res, new HttpError(status, 'invalid_request', 'malformed request'), requestId);
      return;
    }
    log.error({ err: (error as Error)?.stack ?? String(error) }, 'unexpected error');
    sendError(res, new HttpError(500, 'internal', 'internal error'), requestId);
  });
  return app;
}
