/**
 * What every settings loader throws, and what it reads: a neutral module, so that the controller
 * and the GitHub settings do not import the receiver (and express with it) to report a bad setting.
 */

/** A setting is missing or invalid. `setting` is `--flag / ENV_VAR`. */
export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** Flag values as a CLI parser hands them over (kebab-case or camelCase keys). */
export type Flags = Record<string, string | boolean | string[] | undefined>;
