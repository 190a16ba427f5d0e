/**
 * Jest global setup: a file where the fake GitHub records every installation-token request made
 * anywhere in the suite (read back by token-audit-teardown.mjs).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup() {
  const file = join(mkdtempSync(join(tmpdir(), 'keyless-token-audit-')), 'requests.jsonl');
  writeFileSync(file, '');
  process.env.KEYLESS_GITHUB_TOKEN_AUDIT = file;
}
