/**
 * Property-based security tests of identity matching: matchPattern (globs), subjectMismatch (policy
 * subjects against verified identities) and the claim checks that build identities from tokens
 * (src/oidc/github-claims.ts). Oracles are in ./policy-oracle.ts. Complements
 * test/policy/match-pattern.test.ts (exact and wildcard-free globs only).
 */
import fc from 'fast-check';
import type { JWTPayload } from 'jose';
import type { GitHubIdentity, PolicySubject } from '../../src/api/types.js';
import { checkGitHubClaims, identityFromClaims, TokenRejectedError } from '../../src/oidc/index.js';
import { matchPattern, subjectMismatch } from '../../src/policy/index.js';
import { hostileFragment, hostileString } from './hostile.js';
import {
  confusable,
  identityArb,
  identityValue,
  oracleMatch,
  SUBJECT_FIELDS,
  type SubjectField,
} from './policy-oracle.js';

const RUNS = { numRuns: 300 };
const FIELDS = Object.keys(SUBJECT_FIELDS) as SubjectField[];

/** Glob-ish strings over a small alphabet, so that matches, near misses and `/` are frequent. */
const TOKENS = ['a', 'b', 'A', '/', '-', '.', '\u200b', 'ａ', '*', '**', '?'];
const globBody = fc.array(fc.constantFrom(...TOKENS), { maxLength: 10 }).map((t) => t.join(''));
const valueOverAlphabet = fc
  .array(fc.constantFrom(...TOKENS.filter((t) => t !== '**'), 'a/b'), { maxLength: 10 })
  .map((t) => t.join(''));

describe('matchPattern: glob semantics', () => {
  test('agrees with a regular-expression oracle of docs/policy.md on generated globs and values', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          globBody.map((g) => `glob:${g}`),
          globBody,
        ),
        valueOverAlphabet,
        (pattern, value) => {
          expect({ pattern, value, match: matchPattern(pattern, value) }).toEqual({
            pattern,
            value,
            match: oracleMatch(pattern, value),
          });
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('a glob without ** never matches across /: a matching value has exactly the pattern segments', () => {
    fc.assert(
      fc.property(
        globBody.filter((g) => !g.includes('**')),
        valueOverAlphabet,
        fc.nat(),
        (glob, value, seed) => {
          // Also try a value made from the glob itself with each wildcard filled by a random piece.
          const pieces = ['', 'x', '/', 'x/y', 'a'];
          const filled = glob.replace(
            /[*?]/g,
            (_w, offset: number) => pieces[(seed + offset) % pieces.length]!,
          );
          for (const candidate of [value, filled]) {
            if (matchPattern(`glob:${glob}`, candidate)) {
              expect(candidate.split('/').length).toBe(glob.split('/').length);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('? and * never match /, ** does', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z]{1,5}$/), fc.stringMatching(/^[a-z]{0,5}$/), (left, right) => {
        const value = `${left}/${right}`;
        expect(matchPattern(`glob:${left}?${right}`, value)).toBe(false);
        expect(matchPattern(`glob:${left}*${right}`, value)).toBe(false);
        expect(matchPattern(`glob:*`, value)).toBe(false);
        expect(matchPattern(`glob:${left}**${right}`, value)).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('subjects: literal and glob values against confusable identities', () => {
  test.each(FIELDS)(
    '%s: a literal value never matches a case/unicode confusable of itself (and matches itself)',
    (field) => {
      const value = identityValue[field]!;
      fc.assert(
        fc.property(
          identityArb,
          value.chain((v) => fc.tuple(fc.constant(v), confusable(v))),
          (identity, [genuine, { how, variant }]) => {
            const subject: PolicySubject = { [field]: genuine };
            expect(subjectMismatch(subject, { ...identity, [field]: genuine })).toBeUndefined();
            const mismatch = subjectMismatch(subject, { ...identity, [field]: variant });
            expect({ how, variant, matched: mismatch === undefined }).toEqual({
              how,
              variant,
              matched: false,
            });
          },
        ),
        { numRuns: 100 },
      );
    },
  );

  test('a glob with one wildcarded segment matches a confusable only in that segment', () => {
    const value = fc.oneof(identityValue.repository!, identityValue.ref!, identityValue.workflowRef!);
    fc.assert(
      fc.property(
        value,
        fc.nat(),
        fc.nat(),
        fc.constant('*'),
        fc.constantFrom('\u200b', '\u202e', 'ａ', 'A', '\u0430', '\u0301'),
        (v, wild, edit, wildcard, inserted) => {
          const segments = v.split('/');
          const w = wild % segments.length;
          const e = edit % segments.length;
          const pattern = `glob:${segments.map((s, i) => (i === w ? wildcard : s)).join('/')}`;
          expect(matchPattern(pattern, v)).toBe(true);
          const changed = segments.map((s, i) => (i === e ? `${s}${inserted}` : s)).join('/');
          expect({ pattern, changed, match: matchPattern(pattern, changed) }).toEqual({
            pattern,
            changed,
            match: e === w,
          });
        },
      ),
      RUNS,
    );
  });
});

/** Patterns for one identity value: itself, confusables, globs made from it, broad globs, others. */
function patternFor(field: SubjectField, actual: string | undefined): fc.Arbitrary<string> {
  const other = identityValue[field]!;
  if (actual === undefined) return fc.oneof(other, fc.constantFrom('glob:**', 'glob:*'));
  return fc.oneof(
    fc.constant(actual),
    confusable(actual).map((c) => c.variant),
    fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('*', '**', '?')).map(([a, b, w]) => {
      const from = a % (actual.length + 1);
      const to = from + (b % 4);
      return `glob:${actual.slice(0, from)}${w}${actual.slice(to)}`;
    }),
    fc.constantFrom('glob:**', 'glob:*', 'glob:?', 'glob:'),
    other,
  );
}

const CLAIM_NAMES = [...Object.values(SUBJECT_FIELDS), 'workflow', 'actor', 'sha', 'run_id'];
const claimToField = (claim: string): string =>
  claim === 'iss'
    ? 'issuer'
    : claim === 'sub'
      ? 'subject'
      : claim.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());

/** Oracle: a subject matches when it sets something and every field and claim it sets matches. */
function oracleSubjectMatches(subject: PolicySubject, identity: GitHubIdentity): boolean {
  const fields = FIELDS.filter((field) => subject[field] !== undefined);
  const claims = Object.entries(subject.claims ?? {});
  if (fields.length === 0 && claims.length === 0) return false;
  const known = new Set(CLAIM_NAMES);
  return (
    fields.every((field) => oracleMatch(subject[field]!, identity[field])) &&
    claims.every(
      ([claim, pattern]) =>
        known.has(claim) &&
        oracleMatch(pattern, (identity as unknown as Record<string, string>)[claimToField(claim)]),
    )
  );
}

const subjectAndIdentity = identityArb.chain((identity) =>
  fc.tuple(
    fc.constant(identity),
    fc.record(
      {
        ...Object.fromEntries(FIELDS.map((field) => [field, patternFor(field, identity[field])])),
        claims: fc.dictionary(
          fc.oneof(
            fc.constantFrom(...CLAIM_NAMES),
            fc.constantFrom('jti', 'aud', 'token', 'toString', 'Repository'),
          ),
          fc.oneof(
            fc.constantFrom(
              'glob:**',
              identity.repository,
              identity.workflow ?? 'Deploy',
              identity.actor ?? 'alice',
            ),
            patternFor('repository', identity.repository),
          ),
          { maxKeys: 2, noNullPrototype: true },
        ),
      },
      { requiredKeys: [] },
    ) as fc.Arbitrary<PolicySubject>,
  ),
);

describe('subjects: every set field must match', () => {
  test('subjectMismatch agrees with the oracle on generated subjects and identities', () => {
    fc.assert(
      fc.property(subjectAndIdentity, fc.nat(), ([identity, subject], pick) => {
        // Keep subjects small so that matches are common: at most three fields.
        const keep = Object.keys(subject)
          .filter((_k, i) => (pick >> i) % 4 === 0)
          .slice(0, 3);
        const small = Object.fromEntries(
          keep.map((k) => [k, subject[k as keyof PolicySubject]]),
        ) as PolicySubject;
        const matched = subjectMismatch(small, identity) === undefined;
        expect({ small, matched }).toEqual({ small, matched: oracleSubjectMatches(small, identity) });
      }),
      { numRuns: 1000 },
    );
  });

  test('a field absent from the identity never matches, not even glob:**', () => {
    fc.assert(
      fc.property(
        identityArb,
        fc.constantFrom<SubjectField>(
          'ref',
          'refType',
          'environment',
          'eventName',
          'workflowRef',
          'jobWorkflowRef',
          'runnerEnvironment',
        ),
        fc.constantFrom('glob:**', 'glob:*', '', 'undefined', 'null'),
        (identity, field, pattern) => {
          const without = { ...identity };
          delete without[field];
          expect(subjectMismatch({ [field]: pattern }, without)).toBeDefined();
        },
      ),
      RUNS,
    );
  });

  test('claims: unknown, prototype or mis-cased claim names never match, whatever the pattern', () => {
    const name = fc.oneof(
      fc.constantFrom(
        '__proto__',
        'constructor',
        'prototype',
        'toString',
        'hasOwnProperty',
        'valueOf',
        'jti',
        'aud',
        'exp',
        'Repository',
        'REF',
        'repositoryId',
      ),
      hostileFragment,
      hostileString,
    );
    fc.assert(
      fc.property(
        identityArb,
        name,
        fc.constantFrom('glob:**', 'glob:*', '', 'undefined', '[object Object]'),
        (identity, claim, pattern) => {
          fc.pre(!CLAIM_NAMES.includes(claim));
          const claims: Record<string, string> = {};
          Object.defineProperty(claims, claim, { value: pattern, enumerable: true });
          expect(subjectMismatch({ claims }, identity)).toBeDefined();
          expect(subjectMismatch({ repositoryId: identity.repositoryId, claims }, identity)).toBeDefined();
        },
      ),
      RUNS,
    );
  });

  test('ids over names: a subject pinned by repositoryId never matches another id, whatever the names', () => {
    fc.assert(
      fc.property(identityArb, identityValue.repositoryId!, (identity, otherId) => {
        fc.pre(otherId !== identity.repositoryId);
        const subject = {
          repositoryId: identity.repositoryId,
          repository: 'glob:**',
          repositoryOwner: 'glob:*',
        };
        expect(subjectMismatch(subject, identity)).toBeUndefined();
        expect(subjectMismatch(subject, { ...identity, repositoryId: otherId })).toBeDefined();
        expect(
          subjectMismatch(subject, { ...identity, repositoryId: `${identity.repositoryId} ` }),
        ).toBeDefined();
        expect(
          subjectMismatch(subject, { ...identity, repositoryId: `0${identity.repositoryId}` }),
        ).toBeDefined();
      }),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// From token claims to identity (src/oidc/github-claims.ts).

const NOW = 1_700_000_000;
function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: 'https://token.actions.githubusercontent.com',
    aud: 'keyless-deploy',
    exp: NOW + 300,
    iat: NOW,
    jti: 'c4f2a1b0-0000-4000-8000-000000000001',
    sub: 'repo:acme/web:ref:refs/heads/main',
    repository: 'acme/web',
    repository_id: '100000001',
    repository_owner: 'acme',
    repository_owner_id: '100000000',
    ref: 'refs/heads/main',
    sha: 'a'.repeat(40),
    run_id: '42',
    ...overrides,
  };
}

function accepts(payload: JWTPayload): boolean {
  try {
    checkGitHubClaims(payload);
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(TokenRejectedError);
    return false;
  }
}

const IDENTITY_KEYS = new Set([
  'issuer',
  'subject',
  'repository',
  'repositoryId',
  'repositoryOwner',
  'repositoryOwnerId',
  'repositoryVisibility',
  'ref',
  'refType',
  'sha',
  'workflow',
  'workflowRef',
  'jobWorkflowRef',
  'environment',
  'eventName',
  'runId',
  'runAttempt',
  'runNumber',
  'actor',
  'actorId',
  'runnerEnvironment',
  'tokenId',
]);

describe('token claims: only GitHub-shaped identities', () => {
  test('the identity holds only GitHubIdentity fields, each verbatim from its claim; extra claims are dropped', () => {
    const extraName = fc.oneof(
      fc.constantFrom(
        '__proto__',
        'constructor',
        'token',
        'authorization',
        'repositoryId',
        'admin',
        'head_ref',
      ),
      hostileFragment,
      fc.string({ maxLength: 8 }),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(extraName, fc.string({ maxLength: 20 })), { maxLength: 5 }), (extras) => {
        const payload = claims();
        for (const [name, value] of extras) {
          if (Object.hasOwn(payload, name)) continue;
          Object.defineProperty(payload, name, {
            value,
            enumerable: true,
            configurable: true,
            writable: true,
          });
        }
        fc.pre(accepts(payload));
        const identity = identityFromClaims(payload) as unknown as Record<string, unknown>;
        expect(Object.getPrototypeOf(identity)).toBe(Object.prototype);
        for (const key of Reflect.ownKeys(identity)) expect(IDENTITY_KEYS.has(String(key))).toBe(true);
        expect(identity.repository).toBe('acme/web');
        expect(identity.repositoryId).toBe('100000001');
        expect(identity.tokenId).toBe(payload.jti);
        for (const [name, value] of extras) {
          const field = claimToField(name);
          const githubClaim = /^[a-z_]+$/.test(name) && name !== 'jti';
          if (githubClaim && IDENTITY_KEYS.has(field) && value !== '' && payload[name] === value) {
            expect(identity[field]).toBe(value);
          }
        }
      }),
      RUNS,
    );
  });

  test('repository must be OWNER/NAME of GitHub name characters and agree with repository_owner (any case)', () => {
    const name = fc.oneof(
      fc.stringMatching(/^[A-Za-z0-9_.-]{1,10}$/),
      hostileString,
      fc.constantFrom('acme', 'ACME', 'acme\u200b', 'ａｃｍｅ', 'acm\u0435', '..', 'acme/web'),
    );
    fc.assert(
      fc.property(name, name, name, (repoOwner, repoName, claimedOwner) => {
        const repository = `${repoOwner}/${repoName}`;
        const githubName = (s: string) => s.length > 0 && [...s].every((c) => /^[A-Za-z0-9_.-]$/.test(c));
        const expected =
          githubName(repoOwner) &&
          githubName(repoName) &&
          claimedOwner !== '' &&
          claimedOwner.length <= 1024 &&
          repoOwner.toLowerCase() === claimedOwner.toLowerCase();
        const payload = claims({ repository, repository_owner: claimedOwner });
        fc.pre(repository.length <= 1024);
        expect({ repository, claimedOwner, accepted: accepts(payload) }).toEqual({
          repository,
          claimedOwner,
          accepted: expected,
        });
      }),
      RUNS,
    );
  });

  test('ids are ASCII decimal strings of at most 20 digits; every GitHub claim is a string', () => {
    const idClaim = fc.constantFrom(
      'repository_id',
      'repository_owner_id',
      'run_id',
      'actor_id',
      'run_number',
      'run_attempt',
    );
    const idValue = fc.oneof(
      fc.stringMatching(/^[0-9]{1,22}$/),
      fc.constantFrom('１２３', '٣', '12\u200b', '0x1f', '1e3', '-1', ' 1', '1.0', '+1'),
      hostileString,
      fc.integer().map((n) => n as unknown as string),
      fc.constantFrom(true, null, ['1'], { id: '1' }).map((v) => v as unknown as string),
    );
    fc.assert(
      fc.property(idClaim, idValue, (claim, value) => {
        const expected =
          typeof value === 'string' &&
          value.length >= 1 &&
          value.length <= 20 &&
          [...value].every((c) => '0123456789'.includes(c));
        const payload = claims({ [claim]: value });
        expect({ claim, value, accepted: accepts(payload) }).toEqual({ claim, value, accepted: expected });
      }),
      RUNS,
    );
  });
});
