/** The ConfigError a settings loader throws (fails the test when it throws nothing, or something else). */
import { ConfigError } from '../../src/settings/config-error.js';

export function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}
