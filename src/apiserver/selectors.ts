/**
 * Label and field selectors with the real API server's syntax: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
 * `a notin (x,y)`, `a`, `!a` for labels; `metadata.name=x`, `metadata.namespace!=y` (and the few
 * other fields the real server supports per kind) for fields.
 */
import { badRequest } from './status-error.js';

type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

/** A compiled selector: `matches(labels)`. */
export type Selector = (values: Record<string, string | undefined>) => boolean;

/** Split at commas that are not inside parentheses. */
function splitTerms(input: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of input) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  terms.push(current);
  return terms.map((term) => term.trim()).filter((term) => term.length > 0);
}

const KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

function parseRequirement(term: string, kind: 'label' | 'field'): Requirement {
  let match = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (match && kind === 'label') {
    const values = (match[3] as string)
      .split(',')
      .map((value) => value.trim())
      .filter(Boolean);
    return { key: match[1] as string, op: match[2] as 'in' | 'notin', values };
  }
  match = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (match)
    return { key: match[1] as string, op: match[2] === '!=' ? 'neq' : 'eq', value: match[3] as string };
  if (kind === 'label') {
    match = /^(!?)\s*([^=!\s()]+)$/.exec(term);
    if (match) return { key: match[2] as string, op: match[1] ? 'notexists' : 'exists' };
  }
  throw badRequest(`unable to parse requirement: ${kind} selector "${term}"`);
}

function compile(input: string | undefined, kind: 'label' | 'field'): Selector {
  if (!input || input.trim() === '') return () => true;
  if (input.length > 4096) throw badRequest(`${kind} selector too long`);
  const requirements = splitTerms(input).map((term) => parseRequirement(term, kind));
  for (const requirement of requirements) {
    if (kind === 'label' && !KEY.test(requirement.key)) {
      throw badRequest(`unable to parse requirement: invalid label key "${requirement.key}"`);
    }
  }
  return (values) =>
    requirements.every((requirement) => {
      const value = values[requirement.key];
      switch (requirement.op) {
        case 'eq':
          return value === requirement.value;
        case 'neq':
          return value !== requirement.value;
        case 'in':
          return value !== undefined && requirement.values.includes(value);
        case 'notin':
          return value === undefined || !requirement.values.includes(value);
        case 'exists':
          return value !== undefined;
        case 'notexists':
          return value === undefined;
      }
    });
}

/** Parse a `labelSelector` query parameter. Throws 400 on bad syntax. */
export function parseLabelSelector(input: string | undefined): Selector {
  return compile(input, 'label');
}

/** Parse a `fieldSelector` query parameter. Throws 400 on bad syntax or an unsupported field. */
export function parseFieldSelector(input: string | undefined, supported: string[]): Selector {
  const selector = compile(input, 'field');
  if (input) {
    for (const term of splitTerms(input)) {
      const field = /^([^=!\s]+)/.exec(term)?.[1] ?? '';
      if (!supported.includes(field)) throw badRequest(`field label not supported: ${field}`);
    }
  }
  return selector;
}

/** The field values an object offers to field selectors. */
export function fieldsOf(object: Record<string, unknown>): Record<string, string | undefined> {
  const metadata = (object.metadata ?? {}) as Record<string, unknown>;
  const fields: Record<string, string | undefined> = {
    'metadata.name': metadata.name as string | undefined,
    'metadata.namespace': (metadata.namespace as string | undefined) ?? '',
  };
  if (object.kind === 'Event') {
    const involved = (object.involvedObject ?? object.regarding ?? {}) as Record<string, unknown>;
    for (const key of ['kind', 'name', 'namespace', 'uid', 'apiVersion']) {
      fields[`involvedObject.${key}`] = involved[key] as string | undefined;
      fields[`regarding.${key}`] = involved[key] as string | undefined;
    }
    fields.reason = object.reason as string | undefined;
    fields.type = object.type as string | undefined;
  }
  if (object.kind === 'Secret') fields.type = object.type as string | undefined;
  if (object.kind === 'Pod') {
    const status = (object.status ?? {}) as Record<string, unknown>;
    fields['status.phase'] = status.phase as string | undefined;
    fields['spec.nodeName'] = ((object.spec ?? {}) as Record<string, unknown>).nodeName as string | undefined;
  }
  return fields;
}

/** The field names a kind supports in field selectors. */
export function supportedFields(kind: string): string[] {
  const base = ['metadata.name', 'metadata.namespace'];
  if (kind === 'Event') {
    return [
      ...base,
      'reason',
      'type',
      ...['kind', 'name', 'namespace', 'uid', 'apiVersion'].flatMap((key) => [
        `involvedObject.${key}`,
        `regarding.${key}`,
      ]),
    ];
  }
  if (kind === 'Secret') return [...base, 'type'];
  if (kind === 'Pod') return [...base, 'status.phase', 'spec.nodeName'];
  return base;
}

/**
 * A `metav1.LabelSelector` object as the selector string the real server prints (for the Scale
 * subresource's `status.selector`, and for listing what a selector selects): requirements sorted
 * by key, `key=value`, `key in (a,b)`, `key notin (a,b)` (values sorted), `key`, `!key`; empty
 * for an empty or missing selector.
 */
export function labelSelectorString(selector: Record<string, unknown> | undefined): string {
  if (!selector || typeof selector !== 'object') return '';
  const terms: Array<[string, string]> = [];
  const matchLabels = (selector.matchLabels ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(matchLabels)) terms.push([key, `${key}=${String(value)}`]);
  const expressions = (selector.matchExpressions ?? []) as Array<Record<string, unknown>>;
  for (const expression of Array.isArray(expressions) ? expressions : []) {
    const key = String(expression.key ?? '');
    const values = ((expression.values ?? []) as unknown[]).map(String).sort();
    switch (expression.operator) {
      case 'In':
        terms.push([key, `${key} in (${values.join(',')})`]);
        break;
      case 'NotIn':
        terms.push([key, `${key} notin (${values.join(',')})`]);
        break;
      case 'Exists':
        terms.push([key, key]);
        break;
      case 'DoesNotExist':
        terms.push([key, `!${key}`]);
        break;
    }
  }
  return terms
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, term]) => term)
    .join(',');
}
