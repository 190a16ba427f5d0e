import fc from 'fast-check';
import { ImageReferenceError, parseImageReference } from '../../src/policy/index.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  test.each([
    ['ghcr.io/acme/web:1.4.2', { registry: 'ghcr.io', repository: 'ghcr.io/acme/web', tag: '1.4.2' }],
    [`ghcr.io/acme/web@${DIGEST}`, { registry: 'ghcr.io', repository: 'ghcr.io/acme/web', digest: DIGEST }],
    [`ghcr.io/acme/web:1.0@${DIGEST}`, { repository: 'ghcr.io/acme/web', tag: '1.0', digest: DIGEST }],
    ['nginx', { registry: 'docker.io', repository: 'docker.io/library/nginx' }],
    ['acme/web:latest', { registry: 'docker.io', repository: 'docker.io/acme/web', tag: 'latest' }],
    ['localhost:5000/web', { registry: 'localhost:5000', repository: 'localhost:5000/web' }],
    [
      'registry.example.com:8443/team/app/api:v2',
      {
        registry: 'registry.example.com:8443',
        repository: 'registry.example.com:8443/team/app/api',
        tag: 'v2',
      },
    ],
    ['ghcr.io/acme/my__web-app.x:tag_1', { repository: 'ghcr.io/acme/my__web-app.x', tag: 'tag_1' }],
  ])('parses %s', (reference, expected) => {
    expect(parseImageReference(reference)).toMatchObject(expected);
  });

  test.each([
    ['', 'empty'],
    ['ghcr.io/Acme/web', 'invalid repository path component "Acme"'],
    ['ghcr.io/acme/web:', 'invalid tag ""'],
    ['ghcr.io/acme/web:-bad', 'invalid tag'],
    ['ghcr.io/acme/web@sha256:abc', 'sha256 digest must be 64'],
    [`ghcr.io/acme/web@sha256:${'A'.repeat(64)}`, 'sha256 digest must be 64'],
    ['ghcr.io/acme//web', 'empty path component'],
    ['ghcr.io/acme/web latest', 'whitespace'],
    ['ghcr.io/acme/web\n', 'whitespace'],
    ['-acme/web', 'invalid repository path component'],
    [`ghcr.io/${'a'.repeat(300)}`, 'longer than 255'],
    ['x'.repeat(600), 'longer than 512'],
    ['ghcr.io/acme/wéb', 'invalid repository path component'],
    ['bad_host.io:99999999/x', 'invalid registry'],
  ])('rejects %j (%s)', (reference, message) => {
    expect(() => parseImageReference(reference)).toThrow(ImageReferenceError);
    expect(() => parseImageReference(reference)).toThrow(message);
  });

  test('property: never throws anything but ImageReferenceError, on any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.stringMatching(/^[a-z0-9.:/@_-]{0,80}$/)),
        (input) => {
          try {
            parseImageReference(input);
          } catch (error) {
            return error instanceof ImageReferenceError;
          }
          return true;
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('property: a normalized reference parses to itself', () => {
    const component = fc.stringMatching(/^[a-z0-9]+(-[a-z0-9]+)?$/);
    fc.assert(
      fc.property(
        fc.array(component, { minLength: 1, maxLength: 3 }),
        fc.option(fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,20}$/)),
        (path, tag) => {
          const reference = `ghcr.io/${path.join('/')}${tag ? `:${tag}` : ''}`;
          const parsed = parseImageReference(reference);
          expect(parseImageReference(parsed.normalized)).toEqual(parsed);
          expect(parsed.repository).toBe(`ghcr.io/${path.join('/')}`);
        },
      ),
    );
  });
});
