/**
 * Structured logging (pino) with secrets redacted. Every component logs through a logger made
 * here so that tokens, Authorization headers, keys and webhook secrets never reach a log line.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

/** Paths pino censors wherever they appear in a logged object. */
export const REDACTED_PATHS = [
  'token',
  '*.token',
  'idToken',
  '*.idToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'privateKey',
  '*.privateKey',
  'secret',
  '*.secret',
  'webhookSecret',
  '*.webhookSecret',
  'attestationKey',
  '*.attestationKey',
  'password',
  '*.password',
  'headers["x-hub-signature-256"]',
  '*.headers["x-hub-signature-256"]',
];

export interface LoggerOptions {
  level?: string;
  /** Component name added to every line (`receiver`, `controller`, ...). */
  name?: string;
  /** Where lines go; standard output by default. Tests pass a stream to inspect what was logged. */
  destination?: DestinationStream;
}

/** Make the root logger. Child loggers (`logger.child({...})`) inherit the redaction. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const pinoOptions = {
    level: options.level ?? process.env.KEYLESS_LOG_LEVEL ?? 'info',
    name: options.name,
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

/** A logger that writes nothing, for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
