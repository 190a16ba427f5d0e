/**
 * `GET /v1/requests/{namespace}/{name}[?wait=SECONDS]`: the state of a DeployRequest, for a token of
 * the repository that created it. Requests of other repositories (and hand-made ones) answer 404, the
 * same as missing ones, so a token cannot probe what other repositories deploy. With `wait`, the
 * answer is held until the request reaches a terminal phase (or, with `phase=PHASE`, until its phase
 * differs from PHASE, the one the client already knows), the wait ends, the client goes away or the
 * server shuts down. The receiver may only get DeployRequests (no watch), so it polls.
 */
import type { Request, Response } from 'express';
import { DEPLOY_PHASES, TERMINAL_PHASES, type DeployPhase, type DeployRequest } from '../api/types.js';
import type { KubeObject } from '../kube/kube-client.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import { authenticate } from './authenticate.js';
import { HttpError } from './http-error.js';
import type { ReceiverContext } from './receiver-context.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Handle a status request. */
export async function handleStatus(ctx: ReceiverContext, req: Request, res: Response): Promise<void> {
  const { identity } = await authenticate(req, ctx.verifier);
  const namespace = String(req.params.namespace);
  const name = String(req.params.name);
  const issues = [];
  if (namespace.length > 63 || !DNS_LABEL.test(namespace))
    issues.push({ field: 'namespace', message: 'not a valid namespace name' });
  if (name.length > 253 || !DNS_SUBDOMAIN.test(name))
    issues.push({ field: 'name', message: 'not a valid DeployRequest name' });
  const waitSeconds = parseWait(req.query.wait, ctx.maxWaitSeconds);
  const knownPhase = parseKnownPhase(req.query.phase);
  if (issues.length > 0)
    throw new HttpError(400, 'invalid_request', `${issues[0]!.field}: ${issues[0]!.message}`, issues);

  const notFound = new HttpError(404, 'not_found', `DeployRequest ${namespace}/${name} not found`);
  const load = async (): Promise<DeployRequest> => {
    let request: DeployRequest | undefined;
    try {
      request = await ctx.kube.get<DeployRequest & KubeObject>(
        RESOURCE_TYPES.deployRequests,
        namespace,
        name,
      );
    } catch {
      throw new HttpError(
        503,
        'unavailable',
        'cannot read the DeployRequest from the Kubernetes API',
        undefined,
        {
          'Retry-After': '5',
        },
      );
    }
    const github = request?.spec?.source?.github;
    if (
      !request ||
      request.spec.source.type !== 'github-oidc' ||
      github?.repositoryId !== identity.repositoryId
    ) {
      throw notFound;
    }
    return request;
  };

  let request = await load();
  // Hold while nothing the client waits for has happened: the end, or (given) a phase change.
  const unchanged = (r: DeployRequest): boolean =>
    !isFinished(r) && (knownPhase === undefined || (r.status?.phase ?? 'Pending') === knownPhase);
  if (waitSeconds > 0 && unchanged(request)) {
    const deadline = Date.now() + waitSeconds * 1000;
    const gone = new AbortController();
    res.on('close', () => gone.abort());
    while (unchanged(request) && Date.now() < deadline && !gone.signal.aborted && !ctx.shutdown.aborted) {
      await sleep(Math.min(ctx.pollIntervalMs, Math.max(0, deadline - Date.now())), [
        gone.signal,
        ctx.shutdown,
      ]);
      if (gone.signal.aborted) return;
      request = await load();
    }
  }
  res.status(200).json({ ...view(request), requestId: res.locals.requestId as string });
}

function parseWait(value: unknown, max: number): number {
  if (value === undefined) return 0;
  if (typeof value !== 'string' || !/^\d{1,6}$/.test(value)) {
    throw new HttpError(400, 'invalid_request', 'wait must be a whole number of seconds', [
      { field: 'wait', message: 'must be a whole number of seconds' },
    ]);
  }
  // Longer waits are shortened, not refused: the client polls again.
  return Math.min(Number(value), max);
}

function parseKnownPhase(value: unknown): DeployPhase | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !DEPLOY_PHASES.includes(value as DeployPhase)) {
    throw new HttpError(400, 'invalid_request', `phase must be one of ${DEPLOY_PHASES.join(', ')}`, [
      { field: 'phase', message: 'not a DeployRequest phase' },
    ]);
  }
  return value as DeployPhase;
}

function isFinished(request: DeployRequest): boolean {
  const phase = request.status?.phase;
  return phase !== undefined && TERMINAL_PHASES.includes(phase);
}

function view(request: DeployRequest): Record<string, unknown> {
  const status = request.status ?? {};
  return {
    namespace: request.metadata.namespace,
    name: request.metadata.name,
    phase: status.phase ?? 'Pending',
    finished: isFinished(request),
    message: status.message,
    target: request.spec.target,
    images: request.spec.images,
    environment: request.spec.environment,
    matchedPolicy: status.matchedPolicy,
    // The GitHub deployment the App reports on, once it exists.
    githubDeployment: status.github?.deploymentUrl,
    conditions: status.conditions ?? [],
    startedAt: status.startedAt,
    completedAt: status.completedAt,
    createdAt: request.metadata.creationTimestamp,
  };
}

function sleep(ms: number, signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const signal of signals) signal.addEventListener('abort', done, { once: true });
  });
}
