/**
 * Property-based security tests of the image reference parser (src/policy/image-reference.ts), the
 * gate between "a string from the internet" and "a repository a policy allows". Complements
 * test/policy/image-reference.test.ts (fixed examples, arbitrary strings, ghcr.io round trip) with
 * grammar-shaped generators, mutations, digest oracles and hostile insertions.
 */
import fc from 'fast-check';
import { ImageReferenceError, parseImageReference, type ImageReference } from '../../src/policy/index.js';
import { HOSTILE_FRAGMENTS, hostileString } from './hostile.js';

const RUNS = { numRuns: 300 };

/** Parse, or undefined for an ImageReferenceError; any other throw fails the test. */
function tryParse(reference: string): ImageReference | undefined {
  try {
    return parseImageReference(reference);
  } catch (error) {
    if (error instanceof ImageReferenceError) return undefined;
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Generators: references as the grammar builds them.

const domainLabel = fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?$/);
const registry = fc.oneof(
  fc.constantFrom(
    'ghcr.io',
    'docker.io',
    'index.docker.io',
    'localhost',
    'localhost:5000',
    'quay.io',
    'GHCR.io',
  ),
  fc
    .tuple(
      fc.array(domainLabel, { minLength: 2, maxLength: 3 }),
      fc.option(fc.integer({ min: 0, max: 99999 })),
    )
    .map(([labels, port]) => `${labels.join('.')}${port === null ? '' : `:${port}`}`),
);
const pathComponent = fc.stringMatching(/^[a-z0-9]{1,8}((\.|_|__|-{1,2})[a-z0-9]{1,8}){0,2}$/);
const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,30}$/);
const HEX_LENGTH = { sha256: 64, sha384: 96, sha512: 128 } as const;
const validDigest = fc.tuple(fc.constantFrom('sha256', 'sha384', 'sha512'), fc.nat()).chain(([algorithm]) =>
  fc
    .string({
      unit: fc.constantFrom(...'0123456789abcdef'),
      minLength: HEX_LENGTH[algorithm as keyof typeof HEX_LENGTH],
      maxLength: HEX_LENGTH[algorithm as keyof typeof HEX_LENGTH],
    })
    .map((hex) => `${algorithm}:${hex}`),
);

interface Parts {
  registry: string | null;
  path: string[];
  tag: string | null;
  digest: string | null;
}

const parts: fc.Arbitrary<Parts> = fc.record({
  registry: fc.option(registry),
  path: fc.array(pathComponent, { minLength: 1, maxLength: 4 }),
  tag: fc.option(tag),
  digest: fc.option(validDigest),
});

function build(p: Parts): string {
  return `${p.registry === null ? '' : `${p.registry}/`}${p.path.join('/')}${p.tag === null ? '' : `:${p.tag}`}${p.digest === null ? '' : `@${p.digest}`}`;
}

/** Oracle for a well-formed reference: the repository policies compare against. */
function expectedRepository(p: Parts): string {
  const host = p.registry === null || p.registry === 'index.docker.io' ? 'docker.io' : p.registry;
  const path = host === 'docker.io' && p.path.length === 1 ? ['library', ...p.path] : p.path;
  return `${host}/${path.join('/')}`;
}

/** Without a registry, a first path component with a `.` would be read as a host: not well-formed. */
function unambiguous(p: Parts): boolean {
  return p.registry !== null || p.path.length === 1 || !p.path[0]!.includes('.');
}

const validReference = parts.map(build);

/** Single-edit mutations of a valid reference: insert, delete, replace, or change case. */
const mutatedReference = fc
  .tuple(
    validReference,
    fc.nat(),
    fc.oneof(fc.constantFrom(...HOSTILE_FRAGMENTS), fc.string({ maxLength: 3 })),
    fc.constantFrom('insert', 'delete', 'replace', 'upper'),
  )
  .map(([reference, at, fragment, edit]) => {
    const i = at % (reference.length + 1);
    if (edit === 'insert') return reference.slice(0, i) + fragment + reference.slice(i);
    if (edit === 'delete') return reference.slice(0, i) + reference.slice(i + 1);
    if (edit === 'replace') return reference.slice(0, i) + fragment + reference.slice(i + 1);
    return reference.slice(0, i) + reference.slice(i).toUpperCase();
  });

const anyReference = fc.oneof(validReference, mutatedReference, hostileString, fc.string({ unit: 'binary' }));

/** Characters an accepted reference may contain: the grammar's alphabet, ASCII only. */
const ALPHABET = /^[A-Za-z0-9._\-/:@]+$/;
const PATH_COMPONENT_ORACLE = (component: string): boolean =>
  /^[a-z0-9]/.test(component) &&
  /[a-z0-9]$/.test(component) &&
  !/[^a-z0-9._-]/.test(component) &&
  !/\.\.|\.[_-]|[_-]\.|___|_-|-_/.test(component);
const DIGEST_ORACLE = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

describe('image references: the parser never crashes and accepts only the grammar', () => {
  test('valid, mutated and hostile references: a result or ImageReferenceError, never another throw', () => {
    fc.assert(
      fc.property(anyReference, (reference) => {
        tryParse(reference);
      }),
      { numRuns: 1000 },
    );
  });

  test('an accepted reference is ASCII of the grammar alphabet, with valid path components and a bounded length', () => {
    fc.assert(
      fc.property(anyReference, (reference) => {
        const parsed = tryParse(reference);
        if (!parsed) return;
        expect(reference).toMatch(ALPHABET);
        expect(reference.length).toBeLessThanOrEqual(512);
        expect(parsed.repository).toBe(`${parsed.registry}/${parsed.path}`);
        expect(parsed.repository.length).toBeLessThanOrEqual(255);
        for (const component of parsed.path.split('/')) expect(PATH_COMPONENT_ORACLE(component)).toBe(true);
        expect(parsed.path).not.toMatch(/(^|\/)\.\.?(\/|$)/);
        if (parsed.tag !== undefined) expect(parsed.tag).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/);
        if (parsed.digest !== undefined) expect(parsed.digest).toMatch(DIGEST_ORACLE);
      }),
      { numRuns: 1000 },
    );
  });

  test('a well-formed reference is accepted, with the repository the grammar says (docker.io/library defaults)', () => {
    fc.assert(
      fc.property(parts, (p) => {
        const reference = build(p);
        fc.pre(unambiguous(p) && expectedRepository(p).length <= 255);
        const parsed = parseImageReference(reference);
        expect(parsed.repository).toBe(expectedRepository(p));
        expect(parsed.tag).toBe(p.tag ?? undefined);
        expect(parsed.digest).toBe(p.digest ?? undefined);
      }),
      RUNS,
    );
  });

  test('anything accepted re-serialises (normalized, or repository + tag + digest) to a reference that parses identically', () => {
    fc.assert(
      fc.property(anyReference, (reference) => {
        const parsed = tryParse(reference);
        if (!parsed) return;
        expect(parsed.normalized).toBe(
          `${parsed.repository}${parsed.tag ? `:${parsed.tag}` : ''}${parsed.digest ? `@${parsed.digest}` : ''}`,
        );
        expect(tryParse(parsed.normalized)).toEqual(parsed);
      }),
      { numRuns: 1000 },
    );
  });

  test('hostile fragments (controls, bidi, zero-width, fullwidth, glob, shell, traversal) inserted anywhere are refused', () => {
    const outsideAlphabet = HOSTILE_FRAGMENTS.filter((fragment) => /[^A-Za-z0-9._\-/:@]/.test(fragment));
    fc.assert(
      fc.property(
        validReference,
        fc.nat(),
        fc.constantFrom(...outsideAlphabet),
        (reference, at, fragment) => {
          const i = at % (reference.length + 1);
          const hostile = reference.slice(0, i) + fragment + reference.slice(i);
          expect(tryParse(hostile)).toBeUndefined();
        },
      ),
      RUNS,
    );
  });

  test('path traversal and empty components (., .., //, trailing /) are refused', () => {
    fc.assert(
      fc.property(parts, fc.nat(), fc.constantFrom('.', '..', '', '...'), (p, at, bad) => {
        const path = [...p.path];
        path.splice(at % (path.length + 1), 0, bad);
        expect(tryParse(build({ ...p, path }))).toBeUndefined();
      }),
      RUNS,
    );
  });
});

describe('image references: digests', () => {
  const algorithm = fc.constantFrom(
    'sha256',
    'sha384',
    'sha512',
    'SHA256',
    'sha1',
    'md5',
    'sha224',
    'sha512-256',
    'blake3',
    'sha256+b64u',
    'sha256.x',
  );
  const length = fc.constantFrom(0, 1, 31, 32, 40, 63, 64, 65, 95, 96, 97, 127, 128, 129, 192);
  const hexChars = fc.constantFrom(
    '0123456789abcdef',
    '0123456789ABCDEF',
    '0123456789abcdefABCDEF',
    '0123456789abcdefg',
    'abcdef0123456789=_-',
  );

  test('a digest is accepted only as sha256/sha384/sha512 with exactly 64/96/128 lower-case hex characters', () => {
    fc.assert(
      fc.property(parts, algorithm, length, hexChars, fc.nat(), (p, alg, len, chars, seed) => {
        let hex = '';
        for (let i = 0; i < len; i++) hex += chars[(seed + i * 7919) % chars.length];
        const reference = build({ ...p, digest: `${alg}:${hex}` });
        fc.pre(unambiguous(p) && expectedRepository(p).length <= 255);
        const parsed = tryParse(reference);
        const expectedLength = (HEX_LENGTH as Record<string, number>)[alg];
        const acceptable =
          expectedLength !== undefined && hex.length === expectedLength && /^[0-9a-f]*$/.test(hex);
        expect({ reference, accepted: parsed !== undefined }).toEqual({ reference, accepted: acceptable });
        if (parsed) expect(parsed.digest).toBe(`${alg}:${hex}`);
      }),
      { numRuns: 600 },
    );
  });

  test('any accepted reference that carries a digest carries an allowed one', () => {
    fc.assert(
      fc.property(
        parts,
        fc.oneof(validDigest, hostileString, fc.stringMatching(/^[a-z0-9+._-]{1,10}:[a-zA-Z0-9=_-]{0,140}$/)),
        (p, digest) => {
          const parsed = tryParse(`${build({ ...p, digest: null })}@${digest}`);
          if (parsed) {
            expect(parsed.digest).toBe(digest);
            expect(digest).toMatch(DIGEST_ORACLE);
          }
        },
      ),
      RUNS,
    );
  });
});

describe('image references: bugs this catalog found, fixed', () => {
  test('a bracketed registry is an IPv6 address or nothing (bidi override, shell characters refused)', () => {
    expect(tryParse('[\u202e$(id);`x`.x]/acme/web:1')).toBeUndefined();
    expect(tryParse('[not-an-address]/acme/web:1')).toBeUndefined();
    expect(tryParse('[::1]:5000/acme/web:1')).toMatchObject({ registry: '[::1]:5000', path: 'acme/web' });
    expect(tryParse('[2001:db8::1]/web@sha256:' + 'a'.repeat(64))).toMatchObject({
      registry: '[2001:db8::1]',
    });
  });

  test('a reference is accepted only when its normalized form is, so that form parses again the same', () => {
    // 502 characters; `docker.io/library/` would make the normalized form 520, over the limit.
    const reference = `${'a'.repeat(237)}:${'t'.repeat(128)}@sha512:${'a'.repeat(128)}`;
    expect(tryParse(reference)).toBeUndefined();
    const shorter = `${'a'.repeat(200)}:${'t'.repeat(128)}@sha512:${'a'.repeat(128)}`;
    const parsed = parseImageReference(shorter);
    expect(tryParse(parsed.normalized)).toEqual(parsed);
  });
});
