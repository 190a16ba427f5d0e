import fc from 'fast-check';
import { matchPattern } from '../../src/policy/index.js';

describe('matchPattern', () => {
  test('exact by default; regex and glob characters are literal without glob:', () => {
    expect(matchPattern('refs/heads/main', 'refs/heads/main')).toBe(true);
    expect(matchPattern('refs/heads/main', 'refs/heads/main2')).toBe(false);
    expect(matchPattern('refs/heads/*', 'refs/heads/main')).toBe(false);
    expect(matchPattern('a.b', 'axb')).toBe(false);
    expect(matchPattern('x', undefined)).toBe(false);
  });

  test('glob: * stays in a segment, ** crosses segments, ? is one character', () => {
    expect(matchPattern('glob:refs/tags/v*', 'refs/tags/v1.2.3')).toBe(true);
    expect(matchPattern('glob:refs/heads/*', 'refs/heads/feature/x')).toBe(false);
    expect(matchPattern('glob:refs/heads/**', 'refs/heads/feature/x')).toBe(true);
    expect(
      matchPattern(
        'glob:acme/*/.github/workflows/release.yml@refs/heads/main',
        'acme/web/.github/workflows/release.yml@refs/heads/main',
      ),
    ).toBe(true);
    expect(matchPattern('glob:web-?', 'web-1')).toBe(true);
    expect(matchPattern('glob:web-?', 'web-12')).toBe(false);
    expect(matchPattern('glob:ghcr.io/acme/*', 'ghcr.io/acme/web')).toBe(true);
    expect(matchPattern('glob:ghcr.io/acme/*', 'ghcr.io/acme-evil/web')).toBe(false);
    expect(matchPattern('glob:', '')).toBe(false);
  });

  test('hostile patterns finish quickly and match correctly', () => {
    const value = `${'a'.repeat(2000)}b`;
    expect(matchPattern(`glob:${'*a'.repeat(30)}c`, value)).toBe(false);
    expect(matchPattern(`glob:${'**a'.repeat(30)}b`, value)).toBe(true);
    expect(matchPattern('glob:(.*)+$', '(.*)+$')).toBe(true);
  });

  test('property: an exact pattern matches only the equal string', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (pattern, value) => {
        fc.pre(!pattern.startsWith('glob:'));
        return matchPattern(pattern, value) === (pattern === value);
      }),
      { numRuns: 2000 },
    );
  });

  test('property: a glob without wildcards matches only the equal string', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[^*?]{1,30}$/),
        fc.string(),
        (literal, value) => matchPattern(`glob:${literal}`, value) === (literal === value),
      ),
    );
  });
});
