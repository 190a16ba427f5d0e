/**
 * `POST /v1/dispatch`: verify the token, validate the body, pre-authorise against the namespace's
 * DeployPolicies, sign the spec and create the DeployRequest. The request name comes from the
 * token's `jti`, so a replayed token finds its existing request instead of creating a second one.
 */
import type { Request, Response } from 'express';
import {
  API_VERSION,
  LABELS,
  type DeployPolicy,
  type DeployRequest,
  type DeployRequestSpec,
} from '../api/types.js';
import { signAttestation } from '../attestation/attestation.js';
import { isKubeError, type KubeObject } from '../kube/kube-client.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import { authenticate } from './authenticate.js';
import { parseDispatchBody } from './dispatch-body.js';
import { HttpError } from './http-error.js';
import { readJsonBody } from './read-json-body.js';
import type { ReceiverContext } from './receiver-context.js';
import { deriveRequestName } from './request-name.js';

/** Label carrying the token-derived hash of the request name (issuer + jti). */
export const TOKEN_HASH_LABEL = LABELS.tokenHash;

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Handle one dispatch. Records the outcome metric on every path. */
export async function handleDispatch(ctx: ReceiverContext, req: Request, res: Response): Promise<void> {
  const log = res.locals.log as ReceiverContext['logger'];
  let outcome = 'error';
  try {
    const verified = await authenticate(req, ctx.verifier);
    const identity = verified.identity;
    const repoLog = log.child({ repository: identity.repository, repositoryId: identity.repositoryId });

    const limit = ctx.rateLimiter.take(identity.repositoryId);
    if (!limit.allowed) {
      throw new HttpError(429, 'rate_limited', `too many dispatches from ${identity.repository}`, undefined, {
        'Retry-After': String(limit.retryAfterSeconds),
      });
    }

    const input = parseDispatchBody(await readJsonBody(req, ctx.maxBodyBytes), ctx.parseImageReference);
    const spec: DeployRequestSpec = {
      target: input.target,
      images: input.images,
      ...(input.environment !== undefined ? { environment: input.environment } : {}),
      ...(input.reason !== undefined ? { reason: input.reason } : {}),
      ...(input.payload !== undefined ? { payload: input.payload } : {}),
      source: { type: 'github-oidc', github: identity },
    };
    const namespace = input.namespace;
    const name = deriveRequestName(identity);
    if (ctx.namespaces.length > 0 && !ctx.namespaces.includes(namespace)) {
      throw new HttpError(
        403,
        'forbidden',
        `namespace ${namespace} is not served by this receiver (KEYLESS_NAMESPACES)`,
      );
    }

    let policies: DeployPolicy[];
    try {
      policies = await ctx.listPolicies(namespace);
    } catch (error) {
      repoLog.error({ err: errorMessage(error), namespace }, 'cannot list DeployPolicies');
      throw unavailable('cannot read DeployPolicies from the Kubernetes API');
    }
    const decision = ctx.evaluatePolicies({ spec, source: { type: 'github-oidc', identity }, policies });
    if (!decision.allowed) {
      const reasons = decision.reasons;
      const first = reasons[0];
      const message =
        policies.length === 0
          ? `no DeployPolicy in namespace ${namespace} allows deploys`
          : `no DeployPolicy in namespace ${namespace} admits this request${first ? `: ${first.condition}: ${first.message}` : ''}`;
      repoLog.info({ namespace, target: spec.target, reasons }, 'dispatch denied by pre-authorisation');
      throw new HttpError(403, 'forbidden', message, reasons);
    }

    spec.source.attestation = await signAttestation(
      { namespace, name, spec },
      ctx.attestationKey,
      ctx.clock(),
    );
    const labels: Record<string, string> = {
      [LABELS.repositoryId]: identity.repositoryId,
      [LABELS.targetKind]: spec.target.kind,
      // Names are unique per namespace only: this label lets the controller (which watches every
      // namespace) find a second request made from the same token in another namespace.
      [TOKEN_HASH_LABEL]: name.slice(name.lastIndexOf('-') + 1),
    };
    if (spec.target.name.length <= 63 && LABEL_VALUE.test(spec.target.name))
      labels[LABELS.targetName] = spec.target.name;
    const request: DeployRequest & KubeObject = {
      apiVersion: API_VERSION,
      kind: 'DeployRequest',
      metadata: { name, namespace, labels },
      spec,
    };

    let stored: DeployRequest;
    let status = 202;
    try {
      stored = await ctx.kube.create<DeployRequest & KubeObject>(RESOURCE_TYPES.deployRequests, request, {
        fieldManager: 'keyless-deploy-receiver',
      });
      outcome = 'created';
    } catch (error) {
      if (isKubeError(error, 409)) {
        stored = await replayOf(ctx, namespace, name, identity.issuer, identity.tokenId);
        status = 200;
        outcome = 'replayed';
      } else if (isKubeError(error, 422) || isKubeError(error, 400)) {
        repoLog.warn({ err: errorMessage(error) }, 'API server refused the DeployRequest');
        throw new HttpError(
          400,
          'invalid_request',
          `the Kubernetes API refused the request: ${errorMessage(error)}`,
        );
      } else if (isKubeError(error, 404)) {
        throw new HttpError(
          404,
          'not_found',
          `namespace ${namespace} or the DeployRequest API does not exist`,
        );
      } else {
        repoLog.error({ err: errorMessage(error) }, 'cannot create DeployRequest');
        throw unavailable('cannot create the DeployRequest in the Kubernetes API');
      }
    }

    const statusUrl = `${ctx.publicUrl ?? ''}/v1/requests/${namespace}/${name}`;
    repoLog.info(
      { namespace, name, status, target: spec.target },
      outcome === 'created' ? 'DeployRequest created' : 'token replayed',
    );
    res
      .status(status)
      .setHeader('Location', statusUrl)
      .json({
        namespace,
        name,
        statusUrl,
        phase: stored.status?.phase ?? 'Pending',
        ...(status === 200 ? { replayed: true } : {}),
        requestId: res.locals.requestId as string,
      });
  } catch (error) {
    if (error instanceof HttpError) outcome = outcomeOf(error);
    throw error;
  } finally {
    ctx.dispatches.inc({ outcome });
  }
}

/** After a 409: the existing request, when it was made from the same token; otherwise a conflict. */
async function replayOf(
  ctx: ReceiverContext,
  namespace: string,
  name: string,
  issuer: string,
  tokenId: string | undefined,
): Promise<DeployRequest> {
  let existing: DeployRequest | undefined;
  try {
    existing = await ctx.kube.get<DeployRequest & KubeObject>(RESOURCE_TYPES.deployRequests, namespace, name);
  } catch {
    throw unavailable('cannot read the existing DeployRequest from the Kubernetes API');
  }
  const github = existing?.spec?.source?.github;
  if (!existing || github?.tokenId !== tokenId || github?.issuer !== issuer) {
    throw new HttpError(409, 'conflict', `a different DeployRequest named ${name} already exists`);
  }
  return existing;
}

function unavailable(message: string): HttpError {
  return new HttpError(503, 'unavailable', message, undefined, { 'Retry-After': '5' });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function outcomeOf(error: HttpError): string {
  switch (error.status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 429:
      return 'rate_limited';
    case 503:
      return 'unavailable';
    case 409:
      return 'conflict';
    default:
      return error.status >= 500 ? 'error' : 'invalid_request';
  }
}
