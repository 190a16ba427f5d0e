/**
 * `MatchResources` of admissionregistration.k8s.io/v1 (a policy's `matchConstraints`, a binding's
 * `matchResources`): resource rules with operations, groups, versions, resources and subresources,
 * resource names and scope; exclude rules; namespace and object label selectors.
 */
import type { ResourceDefinition } from '../resource-registry.js';

type Json = Record<string, unknown>;

/** What a write is, as admission sees it. */
export interface RequestAttributes {
  operation: 'CREATE' | 'UPDATE' | 'DELETE';
  resource: ResourceDefinition;
  subresource?: string;
  namespace?: string;
  name: string;
  object?: Json;
  oldObject?: Json;
  /** The namespace object of a namespaced resource (for namespaceSelector and `namespaceObject`). */
  namespaceObject?: Json;
}

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** metav1.LabelSelector semantics; an empty or absent selector matches everything. */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string>,
): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    const ok =
      operator === 'In'
        ? has && values.includes(labels[key] as string)
        : operator === 'NotIn'
          ? !has || !values.includes(labels[key] as string)
          : operator === 'Exists'
            ? has
            : operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

function includes(list: unknown, value: string): boolean {
  return Array.isArray(list) && (list.includes('*') || list.includes(value));
}

/** `resources` entries: `pods`, `pods/status`, `*` (no subresources), `pods/*`, `*\/status`, `*\/*`. */
function resourceMatches(list: unknown, plural: string, subresource: string | undefined): boolean {
  if (!Array.isArray(list)) return false;
  return list.some((entry: unknown) => {
    if (typeof entry !== 'string') return false;
    const [resource, sub] = entry.split('/', 2) as [string, string | undefined];
    if (resource !== '*' && resource !== plural) return false;
    if (sub === undefined) return subresource === undefined;
    return sub === '*' || sub === subresource;
  });
}

function ruleMatches(rule: Json, request: RequestAttributes): boolean {
  const { resource } = request;
  if (!includes(rule.operations, request.operation)) return false;
  if (!includes(rule.apiGroups, resource.group)) return false;
  if (!includes(rule.apiVersions, resource.version)) return false;
  if (!resourceMatches(rule.resources, resource.plural, request.subresource)) return false;
  const names = rule.resourceNames;
  if (Array.isArray(names) && names.length > 0 && !names.includes(request.name)) return false;
  const scope = (rule.scope as string | undefined) ?? '*';
  if (scope === 'Cluster' && resource.namespaced) return false;
  if (scope === 'Namespaced' && !resource.namespaced) return false;
  return true;
}

function labelsOf(object: Json | undefined): Record<string, string> {
  return ((object?.metadata as Json | undefined)?.labels ?? {}) as Record<string, string>;
}

/** Does a MatchResources select this request? (`undefined` selects everything.) */
export function matchResources(match: Json | undefined, request: RequestAttributes): boolean {
  if (match === undefined) return true;
  const rules = match.resourceRules as Json[] | undefined;
  if (rules !== undefined && !rules.some((rule) => ruleMatches(rule, request))) return false;
  const excluded = (match.excludeResourceRules as Json[] | undefined) ?? [];
  if (excluded.some((rule) => ruleMatches(rule, request))) return false;
  const namespaceSelector = match.namespaceSelector as LabelSelector | undefined;
  if (request.resource.namespaced) {
    if (!selectorMatches(namespaceSelector, labelsOf(request.namespaceObject))) return false;
  } else if (request.resource.kind === 'Namespace' && request.resource.group === '') {
    if (!selectorMatches(namespaceSelector, labelsOf(request.object ?? request.oldObject))) return false;
  }
  // The object selector matches when the new or the old object (whichever exist) matches.
  const objectSelector = match.objectSelector as LabelSelector | undefined;
  const objects = [request.object, request.oldObject].filter((object) => object !== undefined);
  return objects.some((object) => selectorMatches(objectSelector, labelsOf(object)));
}
