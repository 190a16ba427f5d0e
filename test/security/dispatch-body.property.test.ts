/**
 * Property-based security tests of the dispatch body path: bytes -> readJsonBody -> parseDispatchBody,
 * exactly as the receiver runs it (64 KiB limit). Complements test/receiver/dispatch-body.test.ts
 * (fixed examples, fc.jsonValue on the validator alone) with hostile documents, raw bytes, oracles
 * for every field rule, and round trips of valid bodies.
 */
import type { Request } from 'express';
import fc from 'fast-check';
import { parseImageReference } from '../../src/policy/index.js';
import { HttpError, LIMITS, parseDispatchBody, type DispatchInput } from '../../src/receiver/index.js';
import { readJsonBody } from '../../src/receiver/read-json-body.js';
import { HOSTILE_FRAGMENTS, hasControlOrInvisible, hostileFragment, hostileString } from './hostile.js';

/** The receiver's default body limit (receiver-app.ts). */
const MAX_BYTES = 64 * 1024;
/** docs/security.md: nesting depth bounded; the receiver's bound is 32 levels below the root. */
const DOCUMENTED_MAX_DEPTH = 32;
const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];
const RUNS = { numRuns: 300 };

const OBJECT_PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();
const ARRAY_PROTOTYPE_KEYS = Object.getOwnPropertyNames(Array.prototype).sort();

function expectPrototypesUntouched(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(OBJECT_PROTOTYPE_KEYS);
  expect(Object.getOwnPropertyNames(Array.prototype).sort()).toEqual(ARRAY_PROTOTYPE_KEYS);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getPrototypeOf({})).toBe(Object.prototype);
}

afterEach(expectPrototypesUntouched);

/** A request as readJsonBody sees it: headers plus a byte stream, cut into chunks. */
function fakeRequest(
  body: Uint8Array | string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  chunkSize = 4096,
): Request {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
  return {
    headers,
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
    },
  } as unknown as Request;
}

type Outcome = { ok: true; value: DispatchInput } | { ok: false; error: HttpError };

/** Run the receiver's body pipeline; anything thrown that is not an HttpError fails the property. */
async function pipeline(body: Uint8Array | string, headers?: Record<string, string>): Promise<Outcome> {
  try {
    const value = parseDispatchBody(
      await readJsonBody(fakeRequest(body, headers), MAX_BYTES),
      parseImageReference,
    );
    return { ok: true, value };
  } catch (error) {
    if (error instanceof HttpError) return { ok: false, error };
    throw error;
  }
}

/** The documented error shapes: 400 invalid_request, or 413 for bodies above the limit. */
function expectDocumentedError(error: HttpError, bytes: number): void {
  if (error.status === 413) {
    expect(error.code).toBe('payload_too_large');
    expect(bytes).toBeGreaterThan(MAX_BYTES);
  } else {
    expect(error.status).toBe(400);
    expect(error.code).toBe('invalid_request');
    expect(typeof error.message).toBe('string');
  }
}

const RESULT_FIELDS = ['namespace', 'target', 'images', 'parsedImages', 'environment', 'reason', 'payload'];
const PARSED_IMAGE_FIELDS = ['registry', 'path', 'repository', 'tag', 'digest', 'normalized'];

function ownKeysDeep(value: unknown, found: string[] = []): string[] {
  if (typeof value !== 'object' || value === null) return found;
  for (const key of Reflect.ownKeys(value)) {
    found.push(String(key));
    ownKeysDeep((value as Record<string | symbol, unknown>)[key], found);
  }
  return found;
}

/** The result has only the fields DispatchInput defines, with the types it declares. */
function expectOnlyDefinedFields(result: DispatchInput): void {
  for (const key of Reflect.ownKeys(result)) expect(RESULT_FIELDS).toContain(key);
  expect(Reflect.ownKeys(result.target).sort()).toEqual(['kind', 'name']);
  expect(['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob']).toContain(result.target.kind);
  expect(result.images.length).toBeGreaterThan(0);
  expect(result.images.length).toBeLessThanOrEqual(LIMITS.images);
  expect(result.parsedImages).toHaveLength(result.images.length);
  for (const image of result.images) {
    expect(Reflect.ownKeys(image).sort()).toEqual(['container', 'image']);
    expect(typeof image.container).toBe('string');
    expect(typeof image.image).toBe('string');
  }
  for (const parsed of result.parsedImages) {
    for (const key of Reflect.ownKeys(parsed)) expect(PARSED_IMAGE_FIELDS).toContain(key);
  }
  if (result.environment !== undefined) expect(typeof result.environment).toBe('string');
  if (result.reason !== undefined) expect(typeof result.reason).toBe('string');
  if (result.payload !== undefined) {
    expect(Object.getPrototypeOf(result.payload)).toBe(Object.prototype);
    for (const key of ownKeysDeep(result.payload)) expect(FORBIDDEN).not.toContain(key);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON documents as trees of entries, so keys like __proto__ survive into the text unchanged.

type Doc = null | boolean | number | string | { array: Doc[] } | { object: Array<[string, Doc]> };

function toJson(doc: Doc): string {
  if (doc === null || typeof doc !== 'object') return JSON.stringify(doc);
  if ('array' in doc) return `[${doc.array.map(toJson).join(',')}]`;
  return `{${doc.object.map(([key, value]) => `${JSON.stringify(key)}:${toJson(value)}`).join(',')}}`;
}

/** Oracle: does any object in the document have a forbidden key? */
function hasForbiddenKey(doc: Doc): boolean {
  if (doc === null || typeof doc !== 'object') return false;
  if ('array' in doc) return doc.array.some(hasForbiddenKey);
  return doc.object.some(([key, value]) => FORBIDDEN.includes(key) || hasForbiddenKey(value));
}

/** Oracle: depth of the deepest object or array (root container = 0; no container = -1). */
function containerDepth(doc: Doc): number {
  if (doc === null || typeof doc !== 'object') return -1;
  const children = 'array' in doc ? doc.array : doc.object.map(([, value]) => value);
  return 1 + Math.max(-1, ...children.map(containerDepth));
}

const KNOWN_KEYS = [
  'namespace',
  'target',
  'image',
  'images',
  'container',
  'environment',
  'reason',
  'payload',
  'event_type',
  'client_payload',
  'kind',
  'name',
];
const docKey = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...KNOWN_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom(...FORBIDDEN, 'polluted') },
  { weight: 2, arbitrary: hostileFragment },
  { weight: 2, arbitrary: fc.string({ maxLength: 6 }) },
);
const leaf: fc.Arbitrary<Doc> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  hostileString,
  fc.constantFrom(
    'shop',
    'web',
    'Deployment/web',
    'ghcr.io/acme/web:1',
    `ghcr.io/acme/web@sha256:${'a'.repeat(64)}`,
  ),
);
const { doc } = fc.letrec<{ doc: Doc }>((tie) => ({
  doc: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('doc'), { maxLength: 4 }).map((array): Doc => ({ array })),
    fc
      .uniqueArray(fc.tuple(docKey, tie('doc')), { maxLength: 5, selector: ([key]) => key })
      .map((object): Doc => ({ object })),
  ),
}));
/** Documents nested `levels` deep through objects and arrays, with a document at the bottom. */
const deepDoc: fc.Arbitrary<Doc> = fc
  .tuple(
    fc.array(fc.oneof(fc.constant(null), fc.constantFrom('a', 'payload', 'target', '')), {
      minLength: 1,
      maxLength: 45,
      size: 'max',
    }),
    doc,
  )
  .map(([wrappers, inner]) =>
    wrappers.reduceRight<Doc>(
      (acc, key) => (key === null ? { array: [acc] } : { object: [[key, acc]] }),
      inner,
    ),
  );
/** An otherwise valid native body with hostile extra members. */
const nativeWithExtras: fc.Arbitrary<Doc> = fc
  .uniqueArray(fc.tuple(docKey, fc.oneof(doc, deepDoc)), { maxLength: 4, selector: ([key]) => key })
  .map((extra): Doc => {
    const base: Array<[string, Doc]> = [
      ['namespace', 'shop'],
      ['target', 'web'],
      ['image', 'ghcr.io/acme/web:1'],
    ];
    return { object: [...base.filter(([key]) => !extra.some(([k]) => k === key)), ...extra] };
  });
const anyDoc = fc.oneof(doc, deepDoc, nativeWithExtras);

describe('dispatch body: hostile documents', () => {
  test('arbitrary JSON documents give a validated input or a documented 400/413, nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(anyDoc, async (document) => {
        const text = toJson(document);
        const outcome = await pipeline(text);
        if (outcome.ok) expectOnlyDefinedFields(outcome.value);
        else expectDocumentedError(outcome.error, Buffer.byteLength(text));
        expectPrototypesUntouched();
      }),
      RUNS,
    );
  });

  test('forbidden keys (__proto__, constructor, prototype) anywhere, or nesting deeper than 32, are refused', async () => {
    await fc.assert(
      fc.asyncProperty(anyDoc, async (document) => {
        const text = toJson(document);
        fc.pre(Buffer.byteLength(text) <= MAX_BYTES);
        let accepted: boolean;
        try {
          await readJsonBody(fakeRequest(text), MAX_BYTES);
          accepted = true;
        } catch (error) {
          expect(error).toBeInstanceOf(HttpError);
          expect((error as HttpError).status).toBe(400);
          accepted = false;
        }
        const shouldRefuse = hasForbiddenKey(document) || containerDepth(document) > DOCUMENTED_MAX_DEPTH;
        expect({ accepted, text: text.slice(0, 200) }).toEqual({
          accepted: !shouldRefuse,
          text: text.slice(0, 200),
        });
        expectPrototypesUntouched();
      }),
      RUNS,
    );
  });

  test('a __proto__ member carrying {"polluted": true} never reaches Object.prototype', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FORBIDDEN),
        fc.array(fc.oneof(fc.constant(null), fc.constantFrom('payload', 'client_payload', 'target', 'a')), {
          maxLength: 6,
        }),
        async (key, path) => {
          const evil: Doc = { object: [[key, { object: [['polluted', true]] }]] };
          const inner = path.reduceRight<Doc>(
            (acc, k) => (k === null ? { array: [acc] } : { object: [[k, acc]] }),
            evil,
          );
          const document: Doc = {
            object: [
              ['namespace', 'shop'],
              ['target', 'web'],
              ['image', 'ghcr.io/acme/web:1'],
              ['payload', inner],
            ],
          };
          const outcome = await pipeline(toJson(document));
          expect(outcome.ok).toBe(false);
          if (!outcome.ok) expect(outcome.error.message).toContain(`key '${key}' is not allowed`);
          expectPrototypesUntouched();
        },
      ),
      RUNS,
    );
  });
});

describe('dispatch body: arbitrary bytes and headers', () => {
  test('arbitrary text or bytes: parsed, or 400 (never another error); accepted bytes are valid UTF-8', async () => {
    const body = fc.oneof(
      hostileString,
      fc.string({ unit: 'binary' }),
      fc.uint8Array({ maxLength: 200 }),
      // A valid body with raw bytes (often invalid UTF-8) inside a JSON string.
      fc
        .uint8Array({ minLength: 1, maxLength: 8 })
        .map((raw) =>
          Buffer.concat([
            Buffer.from('{"namespace":"shop","target":"web","image":"ghcr.io/acme/web:1","reason":"'),
            Buffer.from(raw.map((b) => (b === 0x22 || b === 0x5c || b < 0x20 ? 0x80 | b : b))),
            Buffer.from('"}'),
          ]),
        ),
    );
    await fc.assert(
      fc.asyncProperty(body, async (input) => {
        const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
        let accepted = false;
        try {
          await readJsonBody(fakeRequest(bytes), MAX_BYTES);
          accepted = true;
        } catch (error) {
          expect(error).toBeInstanceOf(HttpError);
          expectDocumentedError(error as HttpError, bytes.length);
        }
        if (accepted) {
          // Independent UTF-8 check: decoding and re-encoding gives the same bytes.
          expect(Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)).toBe(true);
        }
        const outcome = await pipeline(bytes);
        if (outcome.ok) expectOnlyDefinedFields(outcome.value);
        else expectDocumentedError(outcome.error, bytes.length);
      }),
      RUNS,
    );
  });

  test('bodies above 64 KiB are cut with 413, whatever Content-Length says, in any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: MAX_BYTES + 1, max: MAX_BYTES + 4096 }),
        fc.option(fc.constantFrom('0', '10', 'abc', '-1', '')),
        fc.integer({ min: 1, max: 70_000 }),
        async (size, contentLength, chunkSize) => {
          const text = `{"reason":"${'x'.repeat(size - 13)}"}`;
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (contentLength !== null) headers['content-length'] = contentLength;
          await expect(readJsonBody(fakeRequest(text, headers, chunkSize), MAX_BYTES)).rejects.toMatchObject({
            status: 413,
            code: 'payload_too_large',
          });
        },
      ),
      { numRuns: 50 },
    );
  });

  test('only application/json (utf-8, uncompressed) is read: other content types and encodings get 415', async () => {
    const mediaType = fc.oneof(
      fc.constantFrom(
        'application/json',
        'APPLICATION/JSON',
        ' application/json ',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data',
        'application/json5',
        'application/jsonx',
        'application/xml',
        '',
      ),
      hostileString,
    );
    const param = fc.oneof(
      fc.constantFrom(
        'charset=utf-8',
        'charset="utf-8"',
        'charset=UTF-8',
        'charset=latin1',
        'charset=utf-16',
        'boundary=x',
      ),
      hostileString,
    );
    const encoding = fc.option(fc.constantFrom('identity', 'gzip', 'deflate', 'br', 'GZIP'));
    const valid = '{"namespace":"shop","target":"web","image":"ghcr.io/acme/web:1"}';
    await fc.assert(
      fc.asyncProperty(mediaType, fc.array(param, { maxLength: 2 }), encoding, async (type, params, enc) => {
        const headers: Record<string, string> = { 'content-type': [type, ...params].join(';') };
        if (enc !== null) headers['content-encoding'] = enc;
        let status = 200;
        try {
          await readJsonBody(fakeRequest(valid, headers), MAX_BYTES);
        } catch (error) {
          expect(error).toBeInstanceOf(HttpError);
          status = (error as HttpError).status;
        }
        // Oracle: the media type (case-insensitive) is application/json, a charset if any is utf-8,
        // and there is no encoding other than identity.
        const jsonType = type.trim().toLowerCase() === 'application/json';
        const charsets = params
          .map((p) => p.trim().toLowerCase())
          .filter((p) => p.startsWith('charset='))
          .map((p) => p.slice('charset='.length).replaceAll('"', ''));
        const utf8 = charsets.length === 0 || charsets[0] === 'utf-8';
        const plain = enc === null || enc === 'identity';
        if (status === 200) expect(jsonType && utf8 && plain).toBe(true);
        else expect(status).toBe(415);
        if (!jsonType || !plain) expect(status).toBe(415);
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Field rules, with independent oracles.

const KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'CronJob'];
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Oracle: lower-case letters, digits and '-', not starting or ending with '-'. */
function isLabelText(value: string): boolean {
  if (value.length < 1) return false;
  for (const ch of value) if (!LOWER_ALNUM.includes(ch) && ch !== '-') return false;
  return !value.startsWith('-') && !value.endsWith('-');
}

/** Oracle: a DNS-1123 label: label text of at most 63 characters. */
function isDnsLabel(value: string): boolean {
  return value.length <= 63 && isLabelText(value);
}

/** Oracle: a DNS-1123 subdomain: dot-separated label texts, at most 253 characters in all. */
function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && value.split('.').every(isLabelText);
}

/** Oracle: free text the receiver logs: a length limit, no controls, no invisible formatting. */
function isSafeText(value: string, max: number): boolean {
  return value.length <= max && !hasControlOrInvisible(value);
}

type FieldCase = {
  field: string;
  build: (value: string) => Record<string, unknown>;
  oracle: (value: string) => boolean;
  result: (input: DispatchInput) => unknown;
  /** What is recorded for an accepted value, when not the value itself. */
  recorded?: (value: string) => string;
};

const base = { namespace: 'shop', target: 'web', image: 'ghcr.io/acme/web:1' };
const FIELD_CASES: FieldCase[] = [
  {
    field: 'namespace',
    build: (v) => ({ ...base, namespace: v }),
    oracle: isDnsLabel,
    result: (i) => i.namespace,
  },
  {
    field: 'target (string)',
    build: (v) => ({ ...base, target: v, container: 'web' }),
    oracle: (v) => {
      const slash = v.indexOf('/');
      if (slash < 0) return isDnsSubdomain(v);
      return KINDS.includes(v.slice(0, slash)) && isDnsSubdomain(v.slice(slash + 1));
    },
    result: (i) =>
      i.target.kind === 'Deployment' && !i.target.name.includes('/')
        ? [i.target.name, `Deployment/${i.target.name}`]
        : [`${i.target.kind}/${i.target.name}`],
  },
  {
    field: 'target.name',
    build: (v) => ({ ...base, target: { kind: 'StatefulSet', name: v }, container: 'web' }),
    oracle: isDnsSubdomain,
    result: (i) => i.target.name,
  },
  {
    field: 'target.kind',
    build: (v) => ({ ...base, target: { kind: v, name: 'web' } }),
    oracle: (v) => KINDS.includes(v),
    result: (i) => i.target.kind,
  },
  {
    field: 'container',
    build: (v) => ({ ...base, container: v }),
    oracle: isDnsLabel,
    result: (i) => i.images[0]?.container,
  },
  {
    field: 'images map key',
    build: (v) => ({ namespace: 'shop', target: 'web', images: { [v]: 'ghcr.io/acme/web:1' } }),
    oracle: (v) => isDnsLabel(v) && !FORBIDDEN.includes(v),
    result: (i) => i.images[0]?.container,
  },
  {
    field: 'images[0].container',
    build: (v) => ({
      namespace: 'shop',
      target: 'web',
      images: [{ container: v, image: 'ghcr.io/acme/web:1' }],
    }),
    oracle: isDnsLabel,
    result: (i) => i.images[0]?.container,
  },
  {
    field: 'image',
    build: (v) => ({ ...base, image: v }),
    oracle: (v) => {
      // The parser's own verdict (tested in image-reference.property.test.ts), within 512 characters.
      try {
        parseImageReference(v);
        return v.length <= 512;
      } catch {
        return false;
      }
    },
    result: (i) => i.images[0]?.image,
    // Recorded normalised, as the policy matched it (docker.io/ and library/ added).
    recorded: (v) => parseImageReference(v).normalized,
  },
  {
    field: 'environment',
    build: (v) => ({ ...base, environment: v }),
    oracle: (v) => v !== '' && isSafeText(v, 255),
    result: (i) => i.environment,
  },
  {
    field: 'reason',
    build: (v) => ({ ...base, reason: v }),
    oracle: (v) => isSafeText(v, 1024),
    result: (i) => i.reason,
  },
  {
    field: 'event_type',
    build: (v) => ({ event_type: v, client_payload: base }),
    oracle: (v) => v !== '' && isSafeText(v, 100),
    result: (i) => i.reason,
  },
];

describe('dispatch body: every field rule holds for hostile strings', () => {
  test.each(FIELD_CASES.map((c) => [c.field, c] as const))(
    '%s: accepted exactly when the documented rule allows the value, and then kept verbatim (images normalised)',
    async (_field, fieldCase) => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            hostileString,
            fc.constantFrom(...HOSTILE_FRAGMENTS),
            fc.stringMatching(/^[a-z0-9.-]{1,70}$/),
            fc.constantFrom(
              'web',
              'web.v2',
              '../kube-system',
              'kube-system/..',
              'a'.repeat(63),
              'a'.repeat(64),
              'a.'.repeat(127) + 'a',
              'Deployment/web',
              'CronJob/x.y',
              'Pod/web',
            ),
          ),
          async (value) => {
            const body = JSON.stringify(fieldCase.build(value));
            const outcome = await pipeline(body);
            const expected = fieldCase.oracle(value);
            expect({ value, accepted: outcome.ok }).toEqual({ value, accepted: expected });
            if (outcome.ok) {
              expectOnlyDefinedFields(outcome.value);
              const kept = fieldCase.result(outcome.value);
              const recorded = fieldCase.recorded ? fieldCase.recorded(value) : value;
              if (Array.isArray(kept)) expect(kept).toContain(recorded);
              else expect(kept).toBe(recorded);
            } else {
              expectDocumentedError(outcome.error, Buffer.byteLength(body));
            }
          },
        ),
        RUNS,
      );
    },
  );

  test('unknown members anywhere are refused, naming the field path', async () => {
    const unknownKey = fc
      .oneof(hostileString, fc.string({ maxLength: 10 }))
      .filter((k) => !FORBIDDEN.includes(k));
    const where = fc.constantFrom(
      'root',
      'target',
      'images[0]',
      'client_payload',
      'dispatch root',
      'client_payload.target',
    );
    await fc.assert(
      fc.asyncProperty(
        where,
        unknownKey,
        fc.jsonValue({ maxDepth: 2 }).filter((v) => !ownKeysDeep(v).some((k) => FORBIDDEN.includes(k))),
        async (place, key, value) => {
          let body: Record<string, unknown>;
          let expectedField: string;
          switch (place) {
            case 'root':
              fc.pre(
                ![
                  'namespace',
                  'target',
                  'image',
                  'images',
                  'container',
                  'environment',
                  'reason',
                  'payload',
                  'event_type',
                  'client_payload',
                ].includes(key),
              );
              body = { ...base, [key]: value };
              expectedField = key;
              break;
            case 'target':
              fc.pre(!['kind', 'name'].includes(key));
              body = { ...base, target: { kind: 'Deployment', name: 'web', [key]: value } };
              expectedField = `target.${key}`;
              break;
            case 'images[0]':
              fc.pre(!['container', 'image'].includes(key));
              body = {
                namespace: 'shop',
                target: 'web',
                images: [{ container: 'web', image: 'ghcr.io/a/b:1', [key]: value }],
              };
              expectedField = `images[0].${key}`;
              break;
            case 'client_payload':
              fc.pre(
                ![
                  'namespace',
                  'target',
                  'image',
                  'images',
                  'container',
                  'environment',
                  'reason',
                  'payload',
                ].includes(key),
              );
              body = { event_type: 'deploy', client_payload: { ...base, [key]: value } };
              expectedField = `client_payload.${key}`;
              break;
            case 'client_payload.target':
              fc.pre(!['kind', 'name'].includes(key));
              body = {
                event_type: 'deploy',
                client_payload: { ...base, target: { name: 'web', [key]: value } },
              };
              expectedField = `client_payload.target.${key}`;
              break;
            default:
              fc.pre(!['event_type', 'client_payload'].includes(key));
              body = { event_type: 'deploy', client_payload: base, [key]: value };
              expectedField = key;
          }
          const text = JSON.stringify(body);
          fc.pre(Buffer.byteLength(text) <= MAX_BYTES);
          const outcome = await pipeline(text);
          expect(outcome.ok).toBe(false);
          if (!outcome.ok) {
            expect(outcome.error.status).toBe(400);
            expect(outcome.error.details).toEqual(
              expect.arrayContaining([{ field: expectedField, message: `unknown field '${key}'` }]),
            );
          }
        },
      ),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Round trips of valid bodies.

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/);
const subdomain = fc.array(label, { minLength: 1, maxLength: 3 }).map((labels) => labels.join('.'));
const validImage = fc
  .tuple(
    fc.constantFrom('', 'ghcr.io/', 'docker.io/', 'registry.example.com:5000/', 'localhost:5000/'),
    fc.array(fc.stringMatching(/^[a-z0-9]+([._-][a-z0-9]+)?$/), { minLength: 1, maxLength: 3 }),
    fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/)),
    fc.option(
      fc.constantFrom(`sha256:${'a'.repeat(64)}`, `sha384:${'b'.repeat(96)}`, `sha512:${'c'.repeat(128)}`),
    ),
  )
  .map(
    ([registry, path, tag, digest]) =>
      `${registry}${path.join('/')}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`,
  );
const safeText = (max: number) =>
  fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => s.length <= max && !hasControlOrInvisible(s));
const payloadKey = fc.string({ maxLength: 8 }).filter((k) => !FORBIDDEN.includes(k));
const payloadArb = fc
  .dictionary(payloadKey, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5, noNullPrototype: true })
  .filter((p) => !ownKeysDeep(p).some((k) => FORBIDDEN.includes(k)));

const validBody = fc.record(
  {
    namespace: label,
    kind: fc.option(fc.constantFrom(...KINDS)),
    name: subdomain,
    targetForm: fc.constantFrom('string', 'object'),
    images: fc.uniqueArray(fc.tuple(label, validImage), {
      minLength: 1,
      maxLength: LIMITS.images,
      selector: ([c]) => c,
    }),
    imagesForm: fc.constantFrom('single', 'list', 'map'),
    environment: fc.option(safeText(255).filter((s) => s !== '')),
    reason: fc.option(safeText(1024)),
    eventType: fc.option(safeText(100).filter((s) => s !== '')),
    payload: fc.option(payloadArb),
  },
  { requiredKeys: ['namespace', 'name', 'targetForm', 'images', 'imagesForm'] },
);

describe('dispatch body: valid bodies round-trip', () => {
  test('a generated valid body (native or repository_dispatch, every target and image form) parses to exactly what it says', async () => {
    await fc.assert(
      fc.asyncProperty(validBody, async (b) => {
        const kind = b.kind ?? undefined;
        const target =
          b.targetForm === 'string'
            ? kind
              ? `${kind}/${b.name}`
              : b.name
            : kind
              ? { kind, name: b.name }
              : { name: b.name };
        const fields: Record<string, unknown> = { namespace: b.namespace, target };
        const first = b.images[0]!;
        const images = b.imagesForm === 'single' ? [first] : b.images;
        if (b.imagesForm === 'single') {
          fields.image = first[1];
          fields.container = first[0];
        } else if (b.imagesForm === 'list') {
          fields.images = images.map(([container, image]) => ({ container, image }));
        } else {
          fields.images = Object.fromEntries(images);
        }
        if (b.environment != null) fields.environment = b.environment;
        if (b.reason != null) fields.reason = b.reason;
        if (b.payload != null) fields.payload = b.payload;
        const body = b.eventType != null ? { event_type: b.eventType, client_payload: fields } : fields;
        const outcome = await pipeline(JSON.stringify(body));
        if (!outcome.ok) throw new Error(`valid body refused: ${outcome.error.message}`);
        const input = outcome.value;
        expectOnlyDefinedFields(input);
        expect(input.namespace).toBe(b.namespace);
        expect(input.target).toEqual({ kind: kind ?? 'Deployment', name: b.name });
        const byContainer = (list: Array<{ container: string; image: string }>) =>
          [...list].sort((x, y) => (x.container < y.container ? -1 : 1));
        expect(byContainer(input.images)).toEqual(
          byContainer(
            images.map(([container, image]) => ({ container, image: parseImageReference(image).normalized })),
          ),
        );
        input.images.forEach((image, index) => {
          expect(input.parsedImages[index]).toEqual(parseImageReference(image.image));
        });
        expect(input.environment).toBe(b.environment ?? undefined);
        expect(input.reason).toBe(b.reason ?? b.eventType ?? undefined);
        expect(input.payload).toEqual(b.payload == null ? undefined : JSON.parse(JSON.stringify(b.payload)));
      }),
      RUNS,
    );
  });
});
