import fc from 'fast-check';
import { HttpError, parseDispatchBody } from '../../src/receiver/index.js';
import { parseImageReference } from '../../src/policy/index.js';

const D = `sha256:${'b'.repeat(64)}`;
const parse = (body: unknown) => parseDispatchBody(body, parseImageReference);

function issues(body: unknown): Array<{ field: string; message: string }> {
  try {
    parse(body);
  } catch (error) {
    if (error instanceof HttpError) return error.details as Array<{ field: string; message: string }>;
    throw error;
  }
  throw new Error('expected a validation error');
}

test('native shape: target forms, single image defaults to the container named like the target', () => {
  expect(parse({ namespace: 'shop', target: 'web', image: `ghcr.io/acme/web@${D}` })).toMatchObject({
    namespace: 'shop',
    target: { kind: 'Deployment', name: 'web' },
    images: [{ container: 'web', image: `ghcr.io/acme/web@${D}` }],
    parsedImages: [{ registry: 'ghcr.io', repository: 'ghcr.io/acme/web', digest: D }],
  });
  expect(
    parse({
      namespace: 'shop',
      target: { kind: 'StatefulSet', name: 'db' },
      image: 'postgres:16',
      container: 'pg',
    }),
  ).toMatchObject({
    target: { kind: 'StatefulSet', name: 'db' },
    images: [{ container: 'pg', image: 'docker.io/library/postgres:16' }],
  });
  expect(
    parse({
      namespace: 'shop',
      target: 'CronJob/nightly.report',
      images: { app: 'ghcr.io/a/b:1', side: 'ghcr.io/a/c:2' },
    }).images,
  ).toEqual([
    { container: 'app', image: 'ghcr.io/a/b:1' },
    { container: 'side', image: 'ghcr.io/a/c:2' },
  ]);
});

test('repository_dispatch shape: event_type is the reason unless one is given; payload kept', () => {
  const input = parse({
    event_type: 'deploy',
    client_payload: {
      namespace: 'shop',
      target: 'web',
      image: 'ghcr.io/a/web:1',
      payload: { pr: 12 },
      environment: 'staging',
    },
  });
  expect(input).toMatchObject({ reason: 'deploy', environment: 'staging', payload: { pr: 12 } });
  expect(
    parse({
      event_type: 'deploy',
      client_payload: { namespace: 'shop', target: 'web', image: 'ghcr.io/a/web:1', reason: 'r' },
    }).reason,
  ).toBe('r');
  expect(issues({ event_type: 'deploy' })).toEqual([
    { field: 'client_payload', message: expect.stringMatching(/required/) },
  ]);
  expect(
    issues({
      event_type: 'x'.repeat(101),
      client_payload: { namespace: 'shop', target: 'web', image: 'a:1' },
    }),
  ).toEqual([{ field: 'event_type', message: 'must be at most 100 characters' }]);
  expect(
    issues({
      event_type: 'd',
      client_payload: { namespace: 'shop', target: 'web', image: 'a:1' },
      namespace: 'x',
    }),
  ).toEqual([{ field: 'namespace', message: "unknown field 'namespace'" }]);
});

test('every problem is reported at once with its path', () => {
  expect(
    issues({
      namespace: 'Bad',
      target: { kind: 'Job', name: 'x' },
      images: [{ container: 'a', image: 'ok:1' }, { container: 'a', image: 'ok:2' }, 'str'],
    }),
  ).toEqual([
    { field: 'namespace', message: expect.stringMatching(/DNS-1123 label/) },
    { field: 'target.kind', message: expect.stringMatching(/one of Deployment/) },
    { field: 'images[2]', message: 'must be an object {container, image}' },
    { field: 'images[1].container', message: "container 'a' is listed twice" },
  ]);
  expect(
    issues({
      namespace: 'a',
      target: 'web',
      images: Array.from({ length: 21 }, (_, i) => ({ container: `c${i}`, image: 'a:1' })),
    }),
  ).toEqual([{ field: 'images', message: 'at most 20 images' }]);
});

test.each([null, [], 'text', 42, true])('non-object body %j: 400', (body) => {
  expect(() => parse(body)).toThrow('request body must be a JSON object');
});

test('arbitrary JSON never crashes the validator: it returns input or a 400', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      try {
        parse(value);
      } catch (error) {
        return error instanceof HttpError && error.status === 400;
      }
      return true;
    }),
  );
  fc.assert(
    fc.property(
      fc.dictionary(
        fc.constantFrom('namespace', 'target', 'image', 'images', 'container', 'payload'),
        fc.jsonValue(),
      ),
      (value) => {
        try {
          parse(value);
        } catch (error) {
          return error instanceof HttpError && error.status === 400;
        }
        return true;
      },
    ),
  );
});
