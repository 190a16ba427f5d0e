/**
 * The project's rules for its GitHub Actions workflows, beyond the workflow schema: least
 * privilege (`permissions: {}` at the top, explicit permissions on every job), every action pinned
 * by full commit SHA with a version comment, no `pull_request_target`, nothing secret or writable
 * for pull requests, no persisted checkout credentials, no `${{ }}` inside run scripts (values go
 * through `env:`, so a branch name cannot inject shell).
 */
import { parse } from 'yaml';

type Json = Record<string, unknown>;

const PINNED = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$/;

/** Every rule the workflow text breaks, as messages naming the place; empty when none. */
export function workflowProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  let workflow: Json;
  try {
    workflow = parse(text) as Json;
  } catch (error) {
    return [`${file}: not YAML: ${(error as Error).message}`];
  }
  const triggers = workflow.on;
  const events =
    typeof triggers === 'string'
      ? [triggers]
      : Array.isArray(triggers)
        ? triggers.map(String)
        : Object.keys((triggers as Json | undefined) ?? {});
  if (events.includes('pull_request_target'))
    problems.push(`${file}: pull_request_target runs untrusted code with the base repository's secrets`);
  const forPullRequests = events.includes('pull_request');

  const top = workflow.permissions;
  if (!top || typeof top !== 'object' || Object.keys(top).length > 0)
    problems.push(`${file}: top-level permissions must be {} (each job asks for what it needs)`);
  if (forPullRequests && /\$\{\{\s*secrets\./.test(text))
    problems.push(`${file}: runs for pull requests and uses secrets`);

  for (const [id, value] of Object.entries((workflow.jobs as Json | undefined) ?? {})) {
    const job = value as Json;
    const permissions = job.permissions;
    if (!permissions || typeof permissions !== 'object') {
      problems.push(`${file}: job ${id} has no permissions map`);
    } else if (forPullRequests) {
      for (const [scope, level] of Object.entries(permissions as Json))
        if (level !== 'read' && level !== 'none')
          problems.push(`${file}: job ${id} runs for pull requests with ${scope}: ${String(level)}`);
    }
    const uses = [job.uses, ...((job.steps as Json[] | undefined) ?? []).map((step) => step.uses)].filter(
      (ref): ref is string => typeof ref === 'string',
    );
    for (const ref of uses)
      if (!ref.startsWith('./') && !PINNED.test(ref))
        problems.push(`${file}: job ${id} uses ${ref}, not pinned by a full commit SHA`);
    for (const [i, step] of ((job.steps as Json[] | undefined) ?? []).entries()) {
      const name = `job ${id} step ${String(step.name ?? step.uses ?? i + 1)}`;
      if (typeof step.uses === 'string' && step.uses.startsWith('actions/checkout@')) {
        if ((step.with as Json | undefined)?.['persist-credentials'] !== false)
          problems.push(`${file}: ${name} must set persist-credentials: false`);
      }
      if (typeof step.run === 'string' && step.run.includes('${{'))
        problems.push(`${file}: ${name} puts an expression in its script (pass it through env:)`);
    }
  }

  // Each pinned SHA says which version it is, so updates stay reviewable.
  for (const [n, line] of text.split('\n').entries()) {
    const match = /^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/.exec(line);
    if (
      match &&
      !(match[1] as string).startsWith('./') &&
      !/#\s*v\d+(?:\.\d+){0,2}\s*$/.test(match[2] as string)
    )
      problems.push(`${file}:${n + 1}: ${match[1] as string} has no "# vX.Y.Z" comment`);
  }
  return problems;
}
