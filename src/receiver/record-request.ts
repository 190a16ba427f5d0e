/**
 * The common end of every way into the receiver (OIDC dispatches and GitHub deployment webhooks):
 * the namespace is served, a DeployPolicy admits the request (pre-authorisation, so refusals are
 * answered at once and nothing is stored), the spec is signed (the attestation), and the
 * DeployRequest is created. Its name derives from the verified source, so the token works as an
 * idempotency key: the same token with the same body finds the existing request (200, a replay);
 * with a different body it is refused (409 `token_reused`), as a token deploys once.
 */
import {
  API_VERSION,
  LABELS,
  type DeployRequest,
  type DeployRequestSpec,
  type GitHubIdentity,
} from '../api/types.js';
import { signAttestation } from '../attestation/attestation.js';
import { canonicalJson } from '../attestation/index.js';
import { isKubeError, type KubeObject } from '../kube/kube-client.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import type { Logger } from '../observability/logger.js';
import { HttpError, type FieldIssue } from './http-error.js';
import type { ReceiverContext } from './receiver-context.js';

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export type RecordOutcome = 'created' | 'replayed';

export interface RecordInput {
  namespace: string;
  name: string;
  spec: DeployRequestSpec;
  identity: GitHubIdentity;
}

/** Authorise, attest and create; throws HttpError 403/400/404/409/503. */
export async function recordRequest(
  ctx: ReceiverContext,
  log: Logger,
  input: RecordInput,
): Promise<{ stored: DeployRequest; status: 200 | 202; outcome: RecordOutcome }> {
  const { namespace, name, identity } = input;
  // Millisecond order of requests to one workload (creationTimestamp has whole seconds only).
  const spec: DeployRequestSpec = { ...input.spec, requestedAt: ctx.clock().toISOString() };
  if (ctx.namespaces.length > 0 && !ctx.namespaces.includes(namespace)) {
    throw new HttpError(
      403,
      'forbidden',
      `namespace ${namespace} is not served by this receiver (KEYLESS_NAMESPACES)`,
    );
  }

  const source = { type: spec.source.type, identity };
  // The cache may admit; only the API server may refuse (a policy created a moment ago may not be
  // cached yet).
  let policies = ctx.cachedPolicies(namespace);
  let decision = policies ? ctx.evaluatePolicies({ spec, source, policies }) : undefined;
  if (!policies || !decision?.allowed) {
    try {
      policies = await ctx.listPolicies(namespace);
    } catch (error) {
      log.error({ err: errorMessage(error), namespace }, 'cannot list DeployPolicies');
      throw unavailable('cannot read DeployPolicies from the Kubernetes API');
    }
    decision = ctx.evaluatePolicies({ spec, source, policies });
  }
  if (!decision.allowed) {
    const reasons = decision.reasons;
    log.info(
      { namespace, target: spec.target, reasons, subjectPolicies: decision.subjectPolicies ?? [] },
      'dispatch denied by pre-authorisation',
    );
    // Any workflow can mint a token for our audience: to an identity no policy names, the answer
    // says nothing about the namespace's policies (their names, pinned repository ids). A known
    // subject gets the reasons of the policies its identity matches, to fix its request.
    const known = new Set(decision.subjectPolicies ?? []);
    if (known.size === 0)
      throw new HttpError(
        403,
        'forbidden',
        `no DeployPolicy in namespace ${namespace} admits requests from this identity (the receiver's logs have the details)`,
      );
    const shown = reasons.filter((reason) => reason.policy !== undefined && known.has(reason.policy));
    const first = shown[0];
    const message = `no DeployPolicy in namespace ${namespace} admits this request${first ? `: ${first.condition}: ${first.message}` : ''}`;
    throw new HttpError(403, 'forbidden', message, shown);
  }

  spec.source.attestation = await signAttestation({ namespace, name, spec }, ctx.attestationKey, ctx.clock());
  const labels: Record<string, string> = {
    [LABELS.repositoryId]: identity.repositoryId,
    [LABELS.targetKind]: spec.target.kind,
    // Names are unique per namespace only: this label lets the controller (which watches every
    // namespace) find a second request made from the same token in another namespace.
    [LABELS.tokenHash]: name.slice(name.lastIndexOf('-') + 1),
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
  let status: 200 | 202 = 202;
  let outcome: RecordOutcome = 'created';
  try {
    stored = await ctx.kube.create<DeployRequest & KubeObject>(RESOURCE_TYPES.deployRequests, request, {
      fieldManager: 'keyless-deploy-receiver',
    });
    outcome = 'created';
  } catch (error) {
    if (isKubeError(error, 409)) {
      stored = await replayOf(ctx, namespace, name, identity.issuer, identity.tokenId);
      const differs = differingFields(stored.spec, spec);
      if (differs.length > 0) {
        log.warn({ namespace, name, differs: differs.map((d) => d.field) }, 'token reused with another body');
        throw tokenReused(namespace, name, stored.spec, differs);
      }
      status = 200;
      outcome = 'replayed';
    } else if (isKubeError(error, 422) || isKubeError(error, 400)) {
      log.warn({ err: errorMessage(error) }, 'API server refused the DeployRequest');
      throw new HttpError(
        400,
        'invalid_request',
        `the Kubernetes API refused the request: ${errorMessage(error)}`,
      );
    } else if (isKubeError(error, 404)) {
      throw new HttpError(404, 'not_found', `namespace ${namespace} or the DeployRequest API does not exist`);
    } else {
      log.error({ err: errorMessage(error) }, 'cannot create DeployRequest');
      throw unavailable('cannot create the DeployRequest in the Kubernetes API');
    }
  }
  return { stored, status, outcome };
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

/**
 * The spec fields a dispatch body determines. A second use of a token is a replay (answered with
 * the first request) only when these are equal; `requestedAt` and the attestation are stamped by
 * the receiver on each call and the identity comes from the token itself, so they do not count.
 */
const BODY_FIELDS = ['target', 'images', 'environment', 'reason', 'payload'] as const;

/** The body fields in which `incoming` differs from the request the token already created. */
export function differingFields(existing: DeployRequestSpec, incoming: DeployRequestSpec): FieldIssue[] {
  return BODY_FIELDS.filter(
    (field) => canonicalJson(existing[field] ?? null) !== canonicalJson(incoming[field] ?? null),
  ).map((field) => ({ field, message: describeChange(field, existing, incoming) }));
}

function describeChange(
  field: (typeof BODY_FIELDS)[number],
  existing: DeployRequestSpec,
  incoming: DeployRequestSpec,
): string {
  const show = (spec: DeployRequestSpec): string => {
    switch (field) {
      case 'target':
        return `${spec.target.kind}/${spec.target.name}`;
      case 'images':
        return spec.images.map((i) => `${i.container}=${i.image}`).join(', ');
      case 'environment':
        return spec.environment ?? '(none)';
      default:
        // Free text and payloads may be long or private: say only that they differ.
        return '';
    }
  };
  const before = show(existing);
  return before === '' && show(incoming) === ''
    ? `differs from the first request's ${field}`
    : `the first request has ${before}, this one ${show(incoming)}`;
}

function tokenReused(
  namespace: string,
  name: string,
  existing: DeployRequestSpec,
  differs: FieldIssue[],
): HttpError {
  return new HttpError(
    409,
    'token_reused',
    `this token already created DeployRequest ${namespace}/${name} (${existing.images.map((i) => `${i.container}=${i.image}`).join(', ')}); ` +
      `this body differs in ${differs.map((d) => d.field).join(', ')}. A token deploys once: mint a new token for every dispatch`,
    differs,
  );
}

function unavailable(message: string): HttpError {
  return new HttpError(503, 'unavailable', message, undefined, { 'Retry-After': '5' });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
