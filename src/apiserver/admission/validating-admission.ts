/**
 * ValidatingAdmissionPolicy evaluation (admissionregistration.k8s.io/v1) for every write the
 * embedded API server serves: the stored policies and bindings select requests by their match
 * resources, then `matchConditions`, `variables` and `validations` are CEL expressions evaluated
 * with @marcbachmann/cel-js over `object`, `oldObject`, `request` (with the caller's `userInfo`),
 * `namespaceObject` and `variables`. A binding's `Deny` action refuses the write with the real
 * server's Status; `Warn` adds a Warning header; `Audit` has no audit log here. Errors (a function
 * the evaluator lacks, params, the authorizer) follow `failurePolicy`: `Fail` refuses.
 */
import { compileRule, toCel } from '../schema/cel-rules.js';
import { ApiError } from '../status-error.js';
import { matchResources, type RequestAttributes } from './match-resources.js';
import type { UserInfo } from './user-info.js';

type Json = Record<string, unknown>;

export interface AdmissionRequest extends RequestAttributes {
  user: UserInfo;
  dryRun: boolean;
}

/** Admission of one write: returns warnings, throws the refusal. */
export type Admission = (request: AdmissionRequest) => string[];

export interface ValidatingAdmissionDeps {
  /** The stored ValidatingAdmissionPolicies. */
  policies: () => Json[];
  /** The stored ValidatingAdmissionPolicyBindings. */
  bindings: () => Json[];
}

const CODES: Record<string, number> = {
  Forbidden: 403,
  Unauthorized: 401,
  RequestEntityTooLarge: 413,
  Invalid: 422,
};

/** A CEL failure with the message the real server would give. */
class EvaluationError extends Error {}

function evaluate(expression: string, context: Json): unknown {
  const program = compileRule(expression);
  if (program instanceof Error)
    throw new EvaluationError(`compilation failed: ${program.message.split('\n')[0] ?? ''}`);
  try {
    return program(context);
  } catch (error) {
    throw new EvaluationError((error as Error).message.split('\n')[0] ?? String(error));
  }
}

function nameOf(object: Json): string {
  return String((object.metadata as Json | undefined)?.name ?? '');
}

/** The `request` variable (admission.k8s.io/v1 AdmissionRequest). */
function requestVariable(request: AdmissionRequest): Json {
  const { resource } = request;
  const kind = { group: resource.group, version: resource.version, kind: resource.kind };
  const gvr = { group: resource.group, version: resource.version, resource: resource.plural };
  return {
    kind,
    resource: gvr,
    subResource: request.subresource ?? '',
    requestKind: kind,
    requestResource: gvr,
    requestSubResource: request.subresource ?? '',
    name: request.name,
    namespace: request.namespace ?? '',
    operation: request.operation,
    userInfo: {
      username: request.user.username,
      uid: request.user.uid ?? '',
      groups: request.user.groups,
      extra: request.user.extra ?? {},
    },
    dryRun: request.dryRun,
  };
}

interface Decision {
  action: 'deny' | 'skip' | 'admit';
  message?: string;
  reason?: string;
}

/** Evaluate one policy (already selected by its match resources) for one request. */
function evaluatePolicy(policy: Json, binding: Json, request: AdmissionRequest): Decision {
  const spec = (policy.spec ?? {}) as Json;
  const failOnError = ((spec.failurePolicy as string | undefined) ?? 'Fail') !== 'Ignore';
  const onError = (message: string): Decision =>
    failOnError ? { action: 'deny', message, reason: 'Invalid' } : { action: 'skip' };
  if (spec.paramKind || (binding.spec as Json | undefined)?.paramRef)
    return onError('params (paramKind, paramRef) are not supported by the embedded API server');
  const context: Json = {
    object: request.object === undefined ? null : toCel(request.object),
    oldObject: request.oldObject === undefined ? null : toCel(request.oldObject),
    request: toCel(requestVariable(request)),
    namespaceObject: request.namespaceObject === undefined ? null : toCel(request.namespaceObject),
    params: null,
  };
  // Variables are computed in order; one that fails is left out, so only the expressions that
  // use it fail (the real server computes them lazily, with the same outcome).
  const variables: Json = {};
  context.variables = variables;
  for (const variable of (spec.variables as Json[] | undefined) ?? []) {
    try {
      const value = evaluate(String(variable.expression), context);
      Object.defineProperty(variables, String(variable.name), { value, enumerable: true });
    } catch {
      // left out on purpose
    }
  }
  for (const condition of (spec.matchConditions as Json[] | undefined) ?? []) {
    try {
      if (evaluate(String(condition.expression), context) !== true) return { action: 'skip' };
    } catch (error) {
      return onError(
        `matchCondition '${String(condition.name)}' resulted in error: ${(error as Error).message}`,
      );
    }
  }
  for (const validation of (spec.validations as Json[] | undefined) ?? []) {
    const expression = String(validation.expression ?? '').trim();
    let result: unknown;
    try {
      result = evaluate(expression, context);
    } catch (error) {
      return onError(`expression '${expression}' resulted in error: ${(error as Error).message}`);
    }
    if (result === true) continue;
    let message = '';
    if (typeof validation.messageExpression === 'string') {
      try {
        const value = evaluate(validation.messageExpression, context);
        if (typeof value === 'string' && !value.includes('\n')) message = value.trim();
      } catch {
        // the real server logs this and falls back to `message`
      }
    }
    if (!message && typeof validation.message === 'string') message = validation.message.trim();
    if (!message) message = `failed expression: ${expression}`;
    return { action: 'deny', message, reason: (validation.reason as string | undefined) ?? 'Invalid' };
  }
  return { action: 'admit' };
}

/** Make the admission step the resource service runs before it stores (or deletes) anything. */
export function createValidatingAdmission(deps: ValidatingAdmissionDeps): Admission {
  return (request) => {
    // Policies never apply to admission configuration itself (no lock-out), as in Kubernetes.
    if (request.resource.group === 'admissionregistration.k8s.io') return [];
    const warnings: string[] = [];
    const policies = new Map(deps.policies().map((policy) => [nameOf(policy), policy]));
    for (const binding of deps.bindings().sort((a, b) => nameOf(a).localeCompare(nameOf(b)))) {
      const spec = (binding.spec ?? {}) as Json;
      const policy = policies.get(String(spec.policyName ?? ''));
      if (!policy) continue;
      const policySpec = (policy.spec ?? {}) as Json;
      if (
        !matchResources((policySpec.matchConstraints as Json | undefined) ?? { resourceRules: [] }, request)
      )
        continue;
      if (!matchResources(spec.matchResources as Json | undefined, request)) continue;
      const decision = evaluatePolicy(policy, binding, request);
      if (decision.action !== 'deny') continue;
      const text = `ValidatingAdmissionPolicy '${nameOf(policy)}' with binding '${nameOf(binding)}' denied request: ${decision.message ?? ''}`;
      const actions = (spec.validationActions as string[] | undefined) ?? [];
      if (actions.includes('Warn'))
        warnings.push(
          `Validation failed for ValidatingAdmissionPolicy '${nameOf(policy)}' with binding '${nameOf(binding)}': ${decision.message ?? ''}`,
        );
      if (actions.includes('Deny')) {
        const { resource } = request;
        const qualified = resource.group ? `${resource.plural}.${resource.group}` : resource.plural;
        const reason = decision.reason ?? 'Invalid';
        throw new ApiError(
          CODES[reason] ?? 422,
          reason,
          `${qualified} "${request.name}" is forbidden: ${text}`,
          {
            name: request.name,
            group: resource.group || undefined,
            kind: resource.plural,
            causes: [{ message: text }],
          },
        );
      }
    }
    return warnings;
  };
}
