/** Flag parsing for every command, on node:util parseArgs, with usage errors instead of throws. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-io.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Parse `args` against `options`; unknown flags and missing values are UsageErrors. */
export function parseFlags(
  args: string[],
  options: OptionSpec,
): { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] } {
  try {
    const result = parseArgs({
      args,
      options: { help: { type: 'boolean', short: 'h' }, ...options },
      allowPositionals: true,
      strict: true,
    });
    return {
      values: result.values as Record<string, string | boolean | string[] | undefined>,
      positionals: result.positionals,
    };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
