/**
 * Jest global teardown: fails the run when any installation-token request in the whole suite asked
 * for anything but `deployments: write` on exactly one repository (by id). Tests that prove a bad
 * request is refused before it is sent never reach the fake, so they do not appear here.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';

export function auditTokenRequests(lines) {
  const problems = [];
  for (const line of lines) {
    const request = JSON.parse(line);
    const permissions = JSON.stringify(request.permissions ?? null);
    if (permissions !== '{"deployments":"write"}') problems.push(`permissions ${permissions}: ${line}`);
    if (request.repositories !== undefined) problems.push(`repositories by name: ${line}`);
    if (!Array.isArray(request.repository_ids) || request.repository_ids.length !== 1)
      problems.push(`not exactly one repository: ${line}`);
  }
  return problems;
}

export default function teardown() {
  const file = process.env.KEYLESS_GITHUB_TOKEN_AUDIT;
  if (!file) return;
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  rmSync(dirname(file), { recursive: true, force: true });
  const problems = auditTokenRequests(lines);
  // Only a full run must have exercised token minting; a filtered run may not touch GitHub at all.
  console.log(`\ninstallation-token audit: ${lines.length} token requests, ${problems.length} over-broad`);
  if (problems.length > 0)
    throw new Error(
      `installation tokens asked for more than deployments:write on one repository:\n${problems.join('\n')}`,
    );
}
