/**
 * The "review" resources, which are answered, not stored: `authentication.k8s.io/v1
 * selfsubjectreviews` (`kubectl auth whoami`), `authorization.k8s.io/v1 selfsubjectaccessreviews`
 * (`kubectl auth can-i`) and `selfsubjectrulesreviews` (`kubectl auth can-i --list`). The embedded
 * API server enforces no RBAC, so every answer says "allowed" and gives that as the reason.
 */
import type { ResourceDefinition } from '../resource-registry.js';
import { badRequest, invalid } from '../status-error.js';
import type { UserInfo } from './user-info.js';

/** Why every access review is allowed here. */
export const NO_RBAC_REASON =
  'the embedded API server (playground) does not enforce RBAC: every user may do everything';

const REVIEWS = new Set([
  'authentication.k8s.io/selfsubjectreviews',
  'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/selfsubjectrulesreviews',
]);

/** Is this a review resource (create-only, answered, never stored)? */
export function isReview(resource: ResourceDefinition): boolean {
  return REVIEWS.has(`${resource.group}/${resource.plural}`);
}

/**
 * The answer to a create of a review resource, as the caller `user`. `body` is undefined when the
 * client sent protobuf (kubectl's typed clients do): it is not decoded, since no answer here
 * depends on what was asked, and the answer then carries no `spec`.
 */
export function answerReview(
  resource: ResourceDefinition,
  body: unknown,
  user: UserInfo,
): Record<string, unknown> {
  if (body !== undefined && (body === null || typeof body !== 'object' || Array.isArray(body)))
    throw badRequest('the request body must be a JSON object');
  const object = (body ?? {}) as Record<string, unknown>;
  const header = {
    kind: resource.kind,
    apiVersion: `${resource.group}/${resource.version}`,
    metadata: { creationTimestamp: null },
  };
  const spec = (object.spec ?? {}) as Record<string, unknown>;
  switch (resource.plural) {
    case 'selfsubjectreviews':
      return { ...header, status: { userInfo: user } };
    case 'selfsubjectaccessreviews': {
      const attributes = ['resourceAttributes', 'nonResourceAttributes'].filter((key) => spec[key] != null);
      if (body !== undefined && attributes.length !== 1)
        throw invalid({ group: resource.group, plural: resource.plural, kind: resource.kind, name: '' }, [
          {
            reason: 'FieldValueRequired',
            message:
              'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified',
            field: 'spec.resourceAttributes',
          },
        ]);
      return { ...header, spec, status: { allowed: true, reason: NO_RBAC_REASON } };
    }
    default:
      return {
        ...header,
        spec,
        status: {
          resourceRules: [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }],
          nonResourceRules: [{ verbs: ['*'], nonResourceURLs: ['*'] }],
          incomplete: false,
        },
      };
  }
}
