/**
 * The GitHub Actions workflows cannot run here, so they are checked: against GitHub's own workflow
 * schema (@actions/workflow-parser, the parser behind GitHub's Actions language service), against
 * the project's rules (support/workflow-rules.ts), and for what the release must do.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { NoOperationTraceWriter, convertWorkflowTemplate, parseWorkflow } from '@actions/workflow-parser';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../support/kubectl.js';
import { workflowProblems } from './support/workflow-rules.js';

const DIR = join(PROJECT_ROOT, '.github', 'workflows');
const FILES = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));
const text = (file: string) => readFileSync(join(DIR, file), 'utf8');

/** Errors GitHub's parser reports for a workflow (schema, expressions, job structure). */
async function schemaErrors(name: string, content: string): Promise<string[]> {
  const result = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = result.context.errors.getErrors().map((e) => e.message);
  if (result.value) {
    const template = await convertWorkflowTemplate(result.context, result.value);
    for (const error of template.errors ?? [])
      if (!errors.includes(error.Message)) errors.push(error.Message);
  }
  return errors;
}

type Job = {
  permissions: Record<string, string>;
  needs?: string[];
  steps: Array<{ uses?: string; run?: string; with?: Record<string, unknown> }>;
};
const jobs = (file: string) => (parse(text(file)) as { jobs: Record<string, Job> }).jobs;
const runs = (job: Job | undefined) => (job?.steps ?? []).map((s) => s.run ?? '').join('\n');
const uses = (job: Job | undefined) => (job?.steps ?? []).map((s) => s.uses ?? '');

test('there are a CI and a release workflow', () => {
  expect(FILES.sort()).toEqual(['ci.yml', 'release.yml']);
});

test.each(FILES)("%s passes GitHub's workflow schema", async (file) => {
  expect(await schemaErrors(file, text(file))).toEqual([]);
});

test.each(FILES)("%s follows the project's rules", (file) => {
  expect(workflowProblems(file, text(file))).toEqual([]);
});

test('CI runs the same .ci/run for pull requests, read-only', () => {
  const workflow = parse(text('ci.yml')) as { on: Record<string, unknown> };
  expect(Object.keys(workflow.on)).toEqual(['pull_request', 'push']);
  const ci = jobs('ci.yml').ci;
  expect(ci?.permissions).toEqual({ contents: 'read' });
  expect(runs(ci)).toContain('bash .ci/run');
});

test('release: on version tags; tests and action/dist first; image multi-arch, signed, attested, with an SBOM; chart pushed and signed', () => {
  const workflow = parse(text('release.yml')) as { on: { push: { tags: string[] } } };
  expect(workflow.on).toEqual({ push: { tags: ['v[0-9]+.[0-9]+.[0-9]+'] } });
  const { verify, image, chart } = jobs('release.yml');
  expect(verify?.permissions).toEqual({ contents: 'read' });
  expect(runs(verify)).toContain('npm run build:action');
  expect(runs(verify)).toContain('git status --porcelain -- action/dist');
  expect(runs(verify)).toContain('bash .ci/run');

  expect(image?.needs).toEqual('verify');
  expect(image?.permissions).toEqual({
    contents: 'read',
    packages: 'write',
    'id-token': 'write',
    attestations: 'write',
    'artifact-metadata': 'write',
  });
  const build = image?.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
  expect(build?.with).toMatchObject({ platforms: 'linux/amd64,linux/arm64', push: true });
  expect(runs(image)).toContain('cosign sign --yes "${IMAGE}@${DIGEST}"');
  const attests = image?.steps.filter((s) => s.uses?.startsWith('actions/attest@')) ?? [];
  expect(attests.map((s) => s.with?.['sbom-path'] ?? 'provenance')).toEqual(['provenance', 'sbom.spdx.json']);
  for (const attest of attests) expect(attest.with?.['push-to-registry']).toBe(true);
  expect(uses(image).some((u) => u.startsWith('anchore/sbom-action@'))).toBe(true);

  expect(chart?.needs).toEqual(['verify', 'image']);
  expect(runs(chart)).toContain(
    'node scripts/pin-chart-image.mjs charts/keyless-deploy "$IMAGE" "$VERSION@$DIGEST"',
  );
  expect(runs(chart)).toContain('helm push');
  expect(runs(chart)).toContain('cosign sign --yes "$REPOSITORY/keyless-deploy@$DIGEST"');
});

test("docs/operations.md verifies against exactly this workflow and GitHub's issuer", () => {
  const docs = readFileSync(join(PROJECT_ROOT, 'docs', 'operations.md'), 'utf8');
  expect(docs).toContain(
    '--certificate-identity "https://github.com/$REPO/.github/workflows/release.yml@refs/tags/v$VERSION"',
  );
  expect(docs).toContain('--certificate-oidc-issuer https://token.actions.githubusercontent.com');
  expect(docs).toContain('gh attestation verify "oci://$IMAGE@$DIGEST"');
  expect(docs).toContain('--predicate-type https://spdx.dev/Document/v2.3');
});

describe('the checks can fail', () => {
  const good = text('ci.yml');

  test('the schema refuses a malformed workflow', async () => {
    const errors = await schemaErrors(
      'bad.yml',
      good.replace('runs-on: ubuntu-24.04', 'runs-on: ubuntu-24.04\n    stepz: []'),
    );
    expect(errors.join('\n')).toContain("Unexpected value 'stepz'");
    const permission = await schemaErrors('bad.yml', good.replace('contents: read', 'contents: sometimes'));
    expect(permission.join('\n')).toContain("Unexpected value 'sometimes'");
  });

  test.each<[string, string, string]>([
    [
      'pull_request_target',
      good.replace('  pull_request:', '  pull_request_target:'),
      'pull_request_target runs untrusted code',
    ],
    ['no top-level permissions', good.replace('permissions: {}\n', ''), 'top-level permissions must be {}'],
    [
      'write-all at the top',
      good.replace('permissions: {}', 'permissions: write-all'),
      'top-level permissions must be {}',
    ],
    [
      'a job without permissions',
      good.replace('    permissions:\n      contents: read\n', ''),
      'job ci has no permissions map',
    ],
    [
      'write for pull requests',
      good.replace('contents: read', 'contents: write'),
      'runs for pull requests with contents: write',
    ],
    [
      'a secret for pull requests',
      good.replace('node-version: 24', 'node-version: ${{ secrets.NODE }}'),
      'uses secrets',
    ],
    [
      'a tag instead of a SHA',
      good.replace('actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1', 'actions/checkout@v7'),
      'uses actions/checkout@v7, not pinned by a full commit SHA',
    ],
    ['a SHA without a version comment', good.replace(' # v7.0.1', ''), 'has no "# vX.Y.Z" comment'],
    [
      'persisted checkout credentials',
      good.replace('persist-credentials: false', 'persist-credentials: true'),
      'must set persist-credentials: false',
    ],
    [
      'an expression in a script',
      good.replace('run: sudo', 'run: echo ${{ github.head_ref }} && sudo'),
      'puts an expression in its script',
    ],
  ])('rules refuse %s', (_what, workflow, message) => {
    expect(workflowProblems('ci.yml', workflow).join('\n')).toContain(message);
  });
});
