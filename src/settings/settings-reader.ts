/**
 * Reading settings the one way all components do: every setting is a flag and an environment
 * variable with an optional default; a flag wins over the variable, an empty value counts as
 * unset, values are trimmed, and every problem is a {@link ConfigError} naming both the flag and
 * the variable. The receiver's, the controller's and the GitHub App's loaders read through this.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, type Flags } from './config-error.js';

/** One setting: its flag (without `--`), its environment variable and its default. */
export interface Setting {
  flag: string;
  env: string;
  default: string | undefined;
}

/** Typed readers over a table of settings (see {@link settingsReader}). */
export interface SettingsReader<Name extends string> {
  /** `--flag / ENV_VAR`, as errors name the setting. */
  label(name: Name): string;
  /** The value: flag (kebab-case or camelCase key; lists joined with `,`), else variable, else default. */
  raw(name: Name): string | undefined;
  /** The value; `is required` when there is none. */
  required(name: Name): string;
  /** A whole number within `[min, max]`. */
  integer(name: Name, min: number, max: number): number;
  /** `true`/`1`/`yes` or `false`/`0`/`no` (any case); unset is false unless the default says otherwise. */
  boolean(name: Name): boolean;
  /** A comma-separated list, items trimmed, empty items dropped. */
  list(name: Name): string[];
  /** A list of Kubernetes namespace names (RFC 1123 labels). */
  namespaces(name: Name): string[];
  /** `host:port`, `[v6]:port` or `:port` (all interfaces). */
  listen(name: Name): { host: string; port: number };
  /** `text` as an http(s) URL without trailing slashes. */
  url(name: Name, text: string): string;
  /** The content of the file at `path` (named by setting `name`). */
  file(name: Name, path: string): string;
}

/** Is `name` a Kubernetes namespace name (an RFC 1123 label)? */
export function isNamespaceName(name: string): boolean {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name);
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Readers for the settings in `table`, from `env` and `flags`. */
export function settingsReader<Name extends string>(
  table: Readonly<Record<Name, Setting>>,
  env: NodeJS.ProcessEnv,
  flags: Flags = {},
): SettingsReader<Name> {
  const reader: SettingsReader<Name> = {
    label: (name) => `--${table[name].flag} / ${table[name].env}`,
    raw(name) {
      const setting = table[name];
      const flag = flags[setting.flag] ?? flags[camel(setting.flag)];
      const fromFlag = Array.isArray(flag) ? flag.join(',') : flag === undefined ? undefined : String(flag);
      for (const value of [fromFlag, env[setting.env]]) {
        const trimmed = value?.trim();
        if (trimmed) return trimmed;
      }
      return setting.default;
    },
    required(name) {
      const value = reader.raw(name);
      if (!value) throw new ConfigError(reader.label(name), 'is required');
      return value;
    },
    integer(name, min, max) {
      const text = reader.required(name);
      const value = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min || value > max)
        throw new ConfigError(
          reader.label(name),
          `must be a whole number from ${min} to ${max}, got '${text}'`,
        );
      return value;
    },
    boolean(name) {
      const text = (reader.raw(name) ?? 'false').toLowerCase();
      if (['true', '1', 'yes'].includes(text)) return true;
      if (['false', '0', 'no'].includes(text)) return false;
      throw new ConfigError(reader.label(name), `must be true or false, got '${text}'`);
    },
    list: (name) =>
      (reader.raw(name) ?? '')
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    namespaces(name) {
      const names = reader.list(name);
      for (const namespace of names)
        if (!isNamespaceName(namespace))
          throw new ConfigError(reader.label(name), `'${namespace}' is not a namespace name`);
      return names;
    },
    listen(name) {
      const text = reader.required(name);
      const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
      const port = Number(match?.[3]);
      if (!match || port > 65535)
        throw new ConfigError(reader.label(name), `must be host:port, got '${text}'`);
      return { host: match[1] ?? (match[2] || '0.0.0.0'), port };
    },
    url(name, text) {
      let parsed: URL;
      try {
        parsed = new URL(text);
      } catch {
        throw new ConfigError(reader.label(name), `'${text}' is not a URL`);
      }
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
        throw new ConfigError(reader.label(name), 'must be an http(s) URL');
      return text.replace(/\/+$/, '');
    },
    file(name, path) {
      try {
        return readFileSync(path, 'utf8');
      } catch (error) {
        throw new ConfigError(reader.label(name), `cannot read ${path}: ${(error as Error).message}`);
      }
    },
  };
  return reader;
}
