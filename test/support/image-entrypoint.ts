/**
 * The image's entrypoint as the Dockerfile declares it (`ENTRYPOINT [...]`, exec form): what the
 * chart's container `command` must reproduce when it adds node flags.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './kubectl.js';

/** The Dockerfile's exec-form ENTRYPOINT; throws when there is none. */
export function imageEntrypoint(): string[] {
  const declared = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8'))?.[1];
  if (!declared) throw new Error('the Dockerfile has no exec-form ENTRYPOINT');
  return JSON.parse(declared) as string[];
}
