/**
 * Independent, deliberately simple oracles for policy matching (docs/policy.md), used by the
 * claim-matching and policy-evaluation property tests. Not a test file.
 */
import fc from 'fast-check';
import type { GitHubIdentity } from '../../src/api/types.js';

/**
 * docs/policy.md: values are exact unless written `glob:PATTERN`; in a glob `*` matches within one
 * `/`-separated segment, `**` across segments, `?` one character (not `/`); nothing else is special.
 * Implemented by translation to a regular expression with every other character escaped by code.
 * An absent value never matches; an empty glob matches nothing; matchPattern's size limits apply.
 */
export function oracleMatch(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (!pattern.startsWith('glob:')) return pattern === value;
  const glob = pattern.slice('glob:'.length);
  if (glob === '' || glob.length > 512 || value.length > 4096) return false;
  let source = '';
  for (let i = 0; i < glob.length;) {
    if (glob.startsWith('**', i)) {
      source += '[\\s\\S]*';
      i += 2;
    } else if (glob[i] === '*') {
      source += '[^/]*';
      i += 1;
    } else if (glob[i] === '?') {
      source += '[^/]';
      i += 1;
    } else {
      source += `\\u${glob.charCodeAt(i).toString(16).padStart(4, '0')}`;
      i += 1;
    }
  }
  return new RegExp(`^${source}$`).test(value);
}

/** Confusable variants of a string: what an attacker registers to look like someone else. */
export const CONFUSABLES: ReadonlyArray<readonly [string, (value: string, at: number) => string]> = [
  ['upper case', (v) => v.toUpperCase()],
  ['first letter upper case', (v, at) => changeAt(v, at, (c) => c.toUpperCase())],
  ['zero-width space inserted', (v, at) => insertAt(v, at, '\u200b')],
  ['zero-width joiner appended', (v) => `${v}\u200d`],
  ['right-to-left override inserted', (v, at) => insertAt(v, at, '\u202e')],
  ['fullwidth character', (v, at) => changeAt(v, at, fullwidth)],
  ['all fullwidth', (v) => [...v].map(fullwidth).join('')],
  ['Cyrillic homoglyph', (v, at) => changeAt(v, at, (c) => HOMOGLYPHS[c] ?? c)],
  ['trailing newline', (v) => `${v}\n`],
  ['trailing slash', (v) => `${v}/`],
  ['leading space', (v) => ` ${v}`],
  ['NUL appended', (v) => `${v}\u0000`],
  ['decomposed accent', (v, at) => insertAt(v, at + 1, '\u0301')],
  ['soft hyphen', (v, at) => insertAt(v, at, '\u00ad')],
];

const HOMOGLYPHS: Record<string, string> = {
  a: '\u0430',
  c: '\u0441',
  e: '\u0435',
  o: '\u043e',
  p: '\u0440',
  x: '\u0445',
  y: '\u0443',
  i: '\u0456',
  s: '\u0455',
};

function fullwidth(c: string): string {
  const code = c.charCodeAt(0);
  return code >= 0x21 && code <= 0x7e ? String.fromCharCode(code - 0x21 + 0xff01) : c;
}

function insertAt(value: string, at: number, text: string): string {
  const i = at % (value.length + 1);
  return value.slice(0, i) + text + value.slice(i);
}

function changeAt(value: string, at: number, change: (c: string) => string): string {
  if (value.length === 0) return value;
  const i = at % value.length;
  return value.slice(0, i) + change(value.charAt(i)) + value.slice(i + 1);
}

/** A confusable variant of `value` that differs from it. */
export function confusable(value: string): fc.Arbitrary<{ how: string; variant: string }> {
  return fc
    .tuple(fc.constantFrom(...CONFUSABLES), fc.nat())
    .map(([[how, make], at]) => ({ how, variant: make(value, at) }))
    .filter(({ variant }) => variant !== value);
}

/** Realistic identity values, by GitHub identity field. */
const owner = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
const repoName = fc.stringMatching(/^[a-z][a-z0-9._-]{0,10}$/);
export const identityValue: Record<string, fc.Arbitrary<string>> = {
  issuer: fc.constantFrom(
    'https://token.actions.githubusercontent.com',
    'https://token.actions.githubusercontent.com/acme',
  ),
  repository: fc.tuple(owner, repoName).map(([o, n]) => `${o}/${n}`),
  repositoryId: fc.stringMatching(/^[1-9][0-9]{0,9}$/),
  repositoryOwner: owner,
  repositoryOwnerId: fc.stringMatching(/^[1-9][0-9]{0,9}$/),
  ref: fc.oneof(
    fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/).map((b) => `refs/heads/${b}`),
    fc.stringMatching(/^v[0-9]\.[0-9]$/).map((t) => `refs/tags/${t}`),
  ),
  refType: fc.constantFrom('branch', 'tag'),
  environment: fc.constantFrom('production', 'staging', 'prod-eu', 'dev'),
  eventName: fc.constantFrom('push', 'workflow_dispatch', 'pull_request', 'release'),
  workflowRef: fc
    .tuple(owner, repoName, fc.constantFrom('deploy', 'release', 'ci'))
    .map(([o, n, w]) => `${o}/${n}/.github/workflows/${w}.yml@refs/heads/main`),
  jobWorkflowRef: fc
    .tuple(owner, fc.constantFrom('deploy', 'release'), fc.constantFrom('refs/tags/v1', 'refs/heads/main'))
    .map(([o, w, r]) => `${o}/platform/.github/workflows/${w}.yml@${r}`),
  runnerEnvironment: fc.constantFrom('github-hosted', 'self-hosted'),
};

/** Subject fields (docs/policy.md) and the GitHub claim name of each. */
export const SUBJECT_FIELDS = {
  issuer: 'iss',
  repositoryId: 'repository_id',
  repositoryOwnerId: 'repository_owner_id',
  repository: 'repository',
  repositoryOwner: 'repository_owner',
  ref: 'ref',
  refType: 'ref_type',
  environment: 'environment',
  eventName: 'event_name',
  workflowRef: 'workflow_ref',
  jobWorkflowRef: 'job_workflow_ref',
  runnerEnvironment: 'runner_environment',
} as const;
export type SubjectField = keyof typeof SUBJECT_FIELDS;

/** A GitHub identity as the verifier produces it; optional fields are sometimes absent. */
export const identityArb: fc.Arbitrary<GitHubIdentity> = fc
  .record(
    {
      issuer: identityValue.issuer!,
      repository: identityValue.repository!,
      repositoryId: identityValue.repositoryId!,
      repositoryOwnerId: identityValue.repositoryOwnerId!,
      ref: identityValue.ref!,
      refType: identityValue.refType!,
      environment: identityValue.environment!,
      eventName: identityValue.eventName!,
      workflow: fc.constantFrom('Deploy', 'Release', 'CI'),
      workflowRef: identityValue.workflowRef!,
      jobWorkflowRef: identityValue.jobWorkflowRef!,
      runnerEnvironment: identityValue.runnerEnvironment!,
      actor: fc.constantFrom('alice', 'bob', 'mallory'),
    },
    { requiredKeys: ['issuer', 'repository', 'repositoryId', 'repositoryOwnerId'] },
  )
  .map((identity) => ({ ...identity, repositoryOwner: identity.repository.split('/')[0]! }));
