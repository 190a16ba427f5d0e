import { TERMINAL_PHASES } from '../../src/api/types.js';
import { createLogger } from '../../src/observability/logger.js';
import { Writable } from 'node:stream';

test('logger redacts tokens', () => {
  const lines: string[] = [];
  const destination = new Writable({ write: (chunk, _e, cb) => (lines.push(String(chunk)), cb()) });
  createLogger({ destination }).info({ token: 'abc.def.ghi', headers: { authorization: 'Bearer x' } }, 'hi');
  expect(lines.join('')).not.toContain('abc.def.ghi');
  expect(lines.join('')).not.toContain('Bearer x');
  expect(TERMINAL_PHASES).toContain('Succeeded');
});
