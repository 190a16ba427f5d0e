/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members left out. Two parties that
 * hold equal data produce equal bytes, so a digest over it survives the trip through the API server
 * (which stores JSON, not our key order).
 */
import { createHash } from 'node:crypto';
import type { DeployRequestSpec } from '../api/types.js';

/** Serialise `value` canonically. Throws on values JSON cannot carry (functions, bigint, cycles, NaN). */
export function canonicalJson(value: unknown): string {
  return serialise(value, new Set());
}

function serialise(value: unknown, seen: Set<object>): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot carry NaN or Infinity');
      return JSON.stringify(value);
    case 'object': {
      if (seen.has(value)) throw new TypeError('canonical JSON cannot carry cycles');
      seen.add(value);
      let out: string;
      if (Array.isArray(value)) {
        out = `[${value.map((item) => (item === undefined ? 'null' : serialise(item, seen))).join(',')}]`;
      } else {
        const entries = Object.keys(value)
          .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
          .sort()
          .map((key) => `${JSON.stringify(key)}:${serialise((value as Record<string, unknown>)[key], seen)}`);
        out = `{${entries.join(',')}}`;
      }
      seen.delete(value);
      return out;
    }
    default:
      throw new TypeError(`canonical JSON cannot carry a ${typeof value}`);
  }
}

/** The spec as attested: everything except `source.attestation` (which is the signature itself). */
export function canonicalSpec(spec: DeployRequestSpec): string {
  const { attestation: _attestation, ...source } = spec.source ?? ({} as DeployRequestSpec['source']);
  return canonicalJson({ ...spec, source });
}

/** `sha256:<hex>` of the canonical spec. */
export function specDigest(spec: DeployRequestSpec): string {
  return `sha256:${createHash('sha256').update(canonicalSpec(spec), 'utf8').digest('hex')}`;
}
