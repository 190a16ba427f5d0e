/**
 * Shared generators of hostile input for the property-based security catalog (test/security).
 * Not a test file: imported by the `*.property.test.ts` files next to it.
 */
import fc from 'fast-check';

/** Fragments that have caused trouble somewhere: parsers, shells, logs, terminals, globs, paths. */
export const HOSTILE_FRAGMENTS = [
  '\u0000',
  '\u0007',
  '\u001b[31m',
  '\u007f',
  '\r\n',
  '\n',
  '\t',
  '\u0085',
  '\u2028',
  '\u2029',
  '\u202e', // right-to-left override
  '\u202d',
  '\u2066',
  '\u200b', // zero-width space
  '\u200d',
  '\ufeff',
  '\u00a0',
  '\ud800', // lone surrogate
  'ａｃｍｅ', // fullwidth
  '／', // fullwidth solidus
  'ас', // Cyrillic a, s
  'é',
  'e\u0301',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '../',
  '..',
  '..\\',
  '/etc/passwd',
  '%2e%2e%2f',
  '*',
  '**',
  '?',
  '[',
  ']',
  '[a-z]',
  '{a,b}',
  '$(id)',
  '`id`',
  ';',
  '|',
  '&&',
  '>',
  '<',
  "'",
  '"',
  '\\',
  '${x}',
  '#',
  '@',
  ':',
  '%s%n',
  'glob:',
  'glob:**',
] as const;

/** One hostile fragment. */
export const hostileFragment = fc.constantFrom(...HOSTILE_FRAGMENTS);

/** Strings built from hostile fragments, ordinary text and arbitrary unicode, sometimes very long. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .array(fc.oneof(hostileFragment, fc.string({ maxLength: 8 })), { maxLength: 8 })
      .map((parts) => parts.join('')),
  },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  {
    weight: 1,
    arbitrary: fc.tuple(hostileFragment, fc.integer({ min: 64, max: 5000 })).map(([f, n]) => f.repeat(n)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 2000 }).map((n) => 'a'.repeat(n)) },
);

/** Does `text` contain an ASCII control character (C0 or DEL)? */
/**
 * C0/C1 controls, DEL, and invisible formatting characters (zero-width, bidi overrides and
 * isolates, BOM): what the receiver refuses in free text that it logs and shows.
 */
export function hasControlOrInvisible(text: string): boolean {
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
    if ((code >= 0x200b && code <= 0x200f) || (code >= 0x202a && code <= 0x202e)) return true;
    if ((code >= 0x2060 && code <= 0x2069) || code === 0xfeff) return true;
  }
  return false;
}

export function hasControl(text: string): boolean {
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
