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
    throw new UsageError(flagProblem(error as Error & { code?: string }));
  }
}

/** parseArgs' messages, said plainly: which option, and what is wrong with it. */
function flagProblem(error: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(error.message)?.[1] ?? '';
  const option = quoted
    .split(/[\s,]+/)
    .filter((word) => word.startsWith('-'))
    .pop();
  if (option) {
    if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
    if (/argument missing/.test(error.message)) return `option ${option} needs a value`;
    if (/does not take an argument/.test(error.message)) return `option ${option} takes no value`;
  }
  return error.message;
}
