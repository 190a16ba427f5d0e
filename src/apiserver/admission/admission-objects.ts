/**
 * ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding as stored objects: the defaults
 * the real API server fills in (so that what a client reads back is what it would read from
 * kube-apiserver) and the checks that keep a policy the server could not evaluate out of the store.
 */
import type { ResourceDefinition } from '../resource-registry.js';
import { compileRule } from '../schema/cel-rules.js';
import type { StatusCause } from '../status-error.js';

type Json = Record<string, unknown>;

const GROUP = 'admissionregistration.k8s.io';

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function defaultMatchResources(match: unknown): void {
  if (!isObject(match)) return;
  match.matchPolicy ??= 'Equivalent';
  match.namespaceSelector ??= {};
  match.objectSelector ??= {};
  for (const key of ['resourceRules', 'excludeResourceRules'])
    for (const rule of Array.isArray(match[key]) ? (match[key] as unknown[]) : [])
      if (isObject(rule)) rule.scope ??= '*';
}

/** Apply admissionregistration/v1 defaults (failurePolicy, matchPolicy, selectors, rule scope). */
export function defaultAdmissionObject(resource: ResourceDefinition, object: Json): void {
  if (resource.group !== GROUP || !isObject(object.spec)) return;
  if (resource.kind === 'ValidatingAdmissionPolicy') {
    object.spec.failurePolicy ??= 'Fail';
    defaultMatchResources(object.spec.matchConstraints);
  } else if (resource.kind === 'ValidatingAdmissionPolicyBinding') {
    defaultMatchResources(object.spec.matchResources);
  }
}

const cause = (field: string, message: string, reason = 'FieldValueInvalid'): StatusCause => ({
  reason,
  message,
  field,
});

/** Field causes for a policy or binding the server could not use (empty when valid). */
export function validateAdmissionObject(resource: ResourceDefinition, object: Json): StatusCause[] {
  if (resource.group !== GROUP) return [];
  const spec = object.spec;
  if (!isObject(spec)) return [cause('spec', 'Required value', 'FieldValueRequired')];
  const causes: StatusCause[] = [];
  if (resource.kind === 'ValidatingAdmissionPolicy') {
    if (!['Fail', 'Ignore'].includes(String(spec.failurePolicy)))
      causes.push(
        cause(
          'spec.failurePolicy',
          `Unsupported value: "${String(spec.failurePolicy)}": supported values: "Fail", "Ignore"`,
          'FieldValueNotSupported',
        ),
      );
    const validations = Array.isArray(spec.validations) ? (spec.validations as unknown[]) : [];
    if (validations.length === 0 && !Array.isArray(spec.auditAnnotations))
      causes.push(
        cause(
          'spec.validations',
          'Required value: validations or auditAnnotations must contain at least one item',
          'FieldValueRequired',
        ),
      );
    const expressions: Array<[string, unknown]> = [
      ...validations.flatMap((v, i): Array<[string, unknown]> => [
        [`spec.validations[${i}].expression`, isObject(v) ? v.expression : undefined],
        ...(isObject(v) && v.messageExpression !== undefined
          ? [[`spec.validations[${i}].messageExpression`, v.messageExpression] as [string, unknown]]
          : []),
      ]),
      ...((Array.isArray(spec.variables) ? spec.variables : []) as unknown[]).map(
        (v, i): [string, unknown] => [
          `spec.variables[${i}].expression`,
          isObject(v) ? v.expression : undefined,
        ],
      ),
      ...((Array.isArray(spec.matchConditions) ? spec.matchConditions : []) as unknown[]).map(
        (v, i): [string, unknown] => [
          `spec.matchConditions[${i}].expression`,
          isObject(v) ? v.expression : undefined,
        ],
      ),
    ];
    for (const [field, expression] of expressions) {
      if (typeof expression !== 'string' || expression.trim() === '') {
        causes.push(cause(field, 'Required value: expression is not specified', 'FieldValueRequired'));
      } else {
        const compiled = compileRule(expression);
        if (compiled instanceof Error)
          causes.push(
            cause(
              field,
              `Invalid value: "${expression}": compilation failed: ${compiled.message.split('\n')[0] ?? ''}`,
            ),
          );
      }
    }
  } else if (resource.kind === 'ValidatingAdmissionPolicyBinding') {
    if (typeof spec.policyName !== 'string' || spec.policyName === '')
      causes.push(cause('spec.policyName', 'Required value', 'FieldValueRequired'));
    const actions = spec.validationActions;
    if (!Array.isArray(actions) || actions.length === 0)
      causes.push(cause('spec.validationActions', 'Required value', 'FieldValueRequired'));
    else
      for (const [i, action] of actions.entries())
        if (!['Deny', 'Warn', 'Audit'].includes(String(action)))
          causes.push(
            cause(
              `spec.validationActions[${i}]`,
              `Unsupported value: "${String(action)}": supported values: "Audit", "Deny", "Warn"`,
              'FieldValueNotSupported',
            ),
          );
  }
  return causes;
}
