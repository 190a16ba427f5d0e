/**
 * The receiver's express app. All dependencies are injected so tests can run it against the embedded
 * API server, a local OIDC issuer and a fake clock.
 */
import type { RequestListener } from 'node:http';
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
import { createDispatchGate, gatePass } from './dispatch-gate.js';
import { handleDispatch } from './dispatch-handler.js';
import { HttpError, sendError } from './http-error.js';
import type { PolicyCache } from './policy-cache.js';
import type { PolicyEvaluator } from './policy-port.js';
import { createRateLimiter, type RateLimitSettings } from './rate-limiter.js';
import type { ReceiverContext } from './receiver-context.js';
import { requestIdOf } from './request-id.js';
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
  /**
   * Serve `/healthz`, `/readyz` and `/metrics` on this app too. Default true; `startReceiver` sets
   * false when they have a port of their own (`createOpsApp`), as the product does by default.
   */
  opsRoutes?: boolean;
}

/**
 * Build the receiver's request listener: the dispatch gate (`dispatch-gate.ts`), which answers
 * refused dispatch tokens itself, in front of the express app.
 */
export function createReceiverApp(deps: ReceiverDeps): RequestListener {
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
    const requestId = requestIdOf(req);
    const log = logger.child({ requestId });
    res.locals.requestId = requestId;
    res.locals.log = log;
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('Cache-Control', 'no-store');
    // A dispatch the gate let through was taken (and its signature checked) before this.
    const startedAt = gatePass(req)?.startedAt ?? performance.now();
    res.on('finish', () => {
      const route = (res.locals.route as string | undefined) ?? 'other';
      const seconds = (performance.now() - startedAt) / 1000;
      httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
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
  if (deps.opsRoutes !== false) addOpsRoutes(app, metrics, deps.isReady);
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
  const gate = createDispatchGate({
    verifier: deps.verifier,
    logger,
    httpDuration,
    dispatches: ctx.dispatches,
  });
  return (req, res) => gate(req, res, () => void app(req, res));
}

function addOpsRoutes(app: Express, metrics: Metrics, isReady: (() => boolean) | undefined): void {
  app.get('/healthz', (_req, res) => {
    res.locals.route = 'healthz';
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    res.locals.route = 'readyz';
    const ready = isReady ? isReady() : true;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready' });
  });
  app.get('/metrics', async (_req, res) => {
    res.locals.route = 'metrics';
    res.setHeader('Content-Type', metrics.contentType).send(await metrics.render());
  });
}

/**
 * The operations app: `/healthz`, `/readyz` and `/metrics` only, for a port of its own that the
 * public (workflow-facing) port does not expose: metrics name repositories and outcomes, which
 * strangers need not see, and scrapes and probes stay apart from untrusted traffic.
 */
export function createOpsApp(deps: { metrics: Metrics; isReady?: () => boolean }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  addOpsRoutes(app, deps.metrics, deps.isReady);
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not_found', message: 'only /healthz, /readyz and /metrics here' });
  });
  return app;
}
