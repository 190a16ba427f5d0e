/**
 * `x-kubernetes-validations` CEL rules, evaluated with @marcbachmann/cel-js. `self` is the value at
 * the schema node, `oldSelf` the stored value on update; rules that mention `oldSelf` (transition
 * rules) run only on update when an old value exists, as in Kubernetes. Kubernetes' CEL extension
 * libraries are partly available: functions the evaluator lacks make the rule unenforced, reported
 * as a warning (never a silent pass), and listed in docs/embedded-api-server.md.
 */
import { parse } from '@marcbachmann/cel-js';

type Compiled = ReturnType<typeof parse>;

const compiled = new Map<string, Compiled | Error>();

/** Compile (and cache) a rule; returns the error for rules that do not compile. */
export function compileRule(rule: string): Compiled | Error {
  let entry = compiled.get(rule);
  if (!entry) {
    try {
      entry = parse(rule);
    } catch (error) {
      entry = error as Error;
    }
    compiled.set(rule, entry);
  }
  return entry;
}

/** Convert a JSON value for CEL: integers become CEL ints (bigint), objects are copied. */
export function toCel(value: unknown): unknown {
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  // Fresh literals, not value.map(): the copies must belong to this realm (jest runs tests in a VM
  // context while structuredClone makes objects of the outer one, and the CEL library checks
  // prototypes).
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const item of value) items.push(toCel(item));
    return items;
  }
  if (value !== null && typeof value === 'object') {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      Object.defineProperty(result, key, { value: toCel(item), enumerable: true });
    }
    return result;
  }
  return value;
}

export type RuleOutcome =
  { ok: true } | { ok: false; message: string } | { ok: 'unenforced'; reason: string };

/** Evaluate one rule at a node. */
export function evaluateRule(rule: string, self: unknown, oldSelf: unknown, hasOld: boolean): RuleOutcome {
  const program = compileRule(rule);
  if (program instanceof Error)
    return { ok: 'unenforced', reason: `rule does not compile here: ${program.message.split('\n')[0]}` };
  const transition = /\boldSelf\b/.test(rule);
  if (transition && !hasOld) return { ok: true };
  try {
    const result = program({ self: toCel(self), ...(transition ? { oldSelf: toCel(oldSelf) } : {}) });
    return result === true ? { ok: true } : { ok: false, message: '' };
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] ?? '';
    if (/no matching overload|unknown function|not supported|Unknown/i.test(message)) {
      return { ok: 'unenforced', reason: message };
    }
    return { ok: false, message };
  }
}
