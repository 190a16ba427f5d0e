/**
 * Authentication of `POST /v1/dispatch` on the bare Node request, in front of express.
 *
 * Every stranger on the internet can reach the dispatch route, so refusing a junk token must cost
 * as little as possible: the gate answers refusals itself, without express's router, the
 * per-request logger child and `finish` listener, or an Error with a stack trace per refusal (the
 * precheck returns refusals as values). Tokens that pass the precheck have their signature checked
 * here too; a verified request goes on to express with its token remembered for the handler
 * (`gatePass`). Other requests, and dispatch paths in a form express also routes
 * (`/V1/Dispatch/`), go to express unchanged, where the handler authenticates them itself.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '../observability/logger.js';
import { isTokenRejection, type TokenVerifier, type VerifiedToken } from '../oidc/token-verifier.js';
import { answerForRejection, isErrorAnswer, precheckAuthorization } from './authenticate.js';
import { dispatchOutcome } from './dispatch-outcome.js';
import { HttpError, sendError, type ErrorAnswer } from './http-error.js';
import { requestIdOf } from './request-id.js';

/** A Node request listener that may answer itself or call `next`. */
export type DispatchGate = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export interface DispatchGateDeps {
  verifier: TokenVerifier;
  logger: Logger;
  /** `receiver_http_request_duration_seconds` (method, route, status). */
  httpDuration: Histogram<string>;
  /** `receiver_dispatches_total` (outcome). */
  dispatches: Counter<string>;
}

/** What the gate hands on with a request it let through. */
export interface GatePass {
  /** The verified token. */
  token: VerifiedToken;
  /** `performance.now()` when the gate took the request: its duration metric starts here. */
  startedAt: number;
}

const passes = new WeakMap<IncomingMessage, GatePass>();

/** What the gate handed on with this request, if it let it through. */
export function gatePass(req: IncomingMessage): GatePass | undefined {
  return passes.get(req);
}

/** Make the gate. */
export function createDispatchGate(deps: DispatchGateDeps): DispatchGate {
  const { verifier, logger, httpDuration, dispatches } = deps;

  function refuse(req: IncomingMessage, res: ServerResponse, answer: ErrorAnswer, started: number): void {
    const requestId = requestIdOf(req);
    res.setHeader('X-Request-Id', requestId);
    res.setHeader('Cache-Control', 'no-store');
    sendError(res, answer, requestId);
    dispatches.inc({ outcome: dispatchOutcome(answer) });
    httpDuration.observe(
      { method: 'POST', route: 'dispatch', status: String(answer.status) },
      (performance.now() - started) / 1000,
    );
    const fields = {
      requestId,
      method: 'POST',
      path: '/v1/dispatch',
      status: answer.status,
      code: answer.code,
    };
    if (answer.status >= 500) logger.warn({ ...fields, message: answer.message }, 'request failed');
    else logger.info({ ...fields, message: answer.message }, 'request refused');
  }

  return (req, res, next) => {
    if (req.method !== 'POST' || !isDispatchPath(req.url)) return next();
    const started = performance.now();
    const checked = precheckAuthorization(req.headers.authorization, verifier);
    if (isErrorAnswer(checked)) return refuse(req, res, checked, started);
    verifier.checkSignature(checked).then(
      (verified) => {
        if (isTokenRejection(verified)) return refuse(req, res, answerForRejection(verified), started);
        passes.set(req, { token: verified, startedAt: started });
        next();
      },
      (error: unknown) => {
        logger.error({ err: error instanceof Error ? error.stack : String(error) }, 'unexpected error');
        refuse(req, res, new HttpError(500, 'internal', 'internal error'), started);
      },
    );
  };
}

/** `/v1/dispatch` with or without a query. */
function isDispatchPath(url: string | undefined): boolean {
  if (url === undefined || !url.startsWith('/v1/dispatch')) return false;
  return url.length === '/v1/dispatch'.length || url.charCodeAt('/v1/dispatch'.length) === 0x3f;
}
