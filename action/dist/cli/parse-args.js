/** Flag parsing for every command, on node:util parseArgs, with usage errors instead of throws. */
import { parseArgs } from 'node:util';
import { UsageError } from './cli-io.js';
/** Parse `args` against `options`; unknown flags and missing values are UsageErrors. */
export function parseFlags(args, options) {
    try {
        const result = parseArgs({
            args,
            options: { help: { type: 'boolean', short: 'h' }, ...options },
            allowPositionals: true,
            strict: true,
        });
        return {
            values: result.values,
            positionals: result.positionals,
        };
    }
    catch (error) {
        throw new UsageError(error.message);
    }
}
