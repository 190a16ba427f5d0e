/** The one way settings are read (receiver, controller, GitHub App): flags win, errors name both. */
import { settingsReader } from '../../src/settings/settings-reader.js';
import { configError } from '../support/config-error.js';

const TABLE = {
  port: { flag: 'listen', env: 'X_LISTEN', default: '0.0.0.0:8080' },
  count: { flag: 'count', env: 'X_COUNT', default: '4' },
  on: { flag: 'on', env: 'X_ON', default: 'true' },
  names: { flag: 'names', env: 'X_NAMES', default: '' },
  url: { flag: 'url', env: 'X_URL', default: undefined },
} as const;
type Reader = ReturnType<typeof settingsReader<keyof typeof TABLE>>;

test('flag (kebab or camel case) wins over the variable; empty values count as unset; values are trimmed', () => {
  const read = settingsReader(TABLE, { X_COUNT: ' 7 ', X_NAMES: 'a' }, { names: ['b', 'c'] });
  expect(read.integer('count', 1, 10)).toBe(7);
  expect(read.list('names')).toEqual(['b', 'c']);
  expect(settingsReader(TABLE, { X_COUNT: '' }, { count: '' }).integer('count', 1, 10)).toBe(4);
  expect(settingsReader(TABLE, {}, { on: false }).boolean('on')).toBe(false);
  expect(settingsReader(TABLE, { X_ON: 'YES' }).boolean('on')).toBe(true);
});

test('listen addresses, namespaces and URLs', () => {
  expect(settingsReader(TABLE, { X_LISTEN: '[::1]:9000' }).listen('port')).toEqual({
    host: '::1',
    port: 9000,
  });
  expect(settingsReader(TABLE, { X_LISTEN: ':81' }).listen('port')).toEqual({ host: '0.0.0.0', port: 81 });
  expect(settingsReader(TABLE, { X_NAMES: 'shop, billing' }).namespaces('names')).toEqual([
    'shop',
    'billing',
  ]);
  expect(settingsReader(TABLE, {}).url('url', 'https://example.com/api//')).toBe('https://example.com/api');
});

test.each([
  [
    { X_COUNT: '0' },
    (r: Reader) => r.integer('count', 1, 10),
    "--count / X_COUNT: must be a whole number from 1 to 10, got '0'",
  ],
  [
    { X_COUNT: '9007199254740993' },
    (r: Reader) => r.integer('count', 1, 2 ** 60),
    '--count / X_COUNT: must be a whole number',
  ],
  [{ X_ON: 'maybe' }, (r: Reader) => r.boolean('on'), "--on / X_ON: must be true or false, got 'maybe'"],
  [
    { X_LISTEN: 'localhost' },
    (r: Reader) => r.listen('port'),
    "--listen / X_LISTEN: must be host:port, got 'localhost'",
  ],
  [
    { X_LISTEN: 'a:99999' },
    (r: Reader) => r.listen('port'),
    "--listen / X_LISTEN: must be host:port, got 'a:99999'",
  ],
  [
    { X_NAMES: 'shop,../etc' },
    (r: Reader) => r.namespaces('names'),
    "--names / X_NAMES: '../etc' is not a namespace name",
  ],
  [{}, (r: Reader) => r.required('url'), '--url / X_URL: is required'],
  [{}, (r: Reader) => r.url('url', 'ftp://x'), '--url / X_URL: must be an http(s) URL'],
  [{}, (r: Reader) => r.url('url', 'not a url'), "--url / X_URL: 'not a url' is not a URL"],
  [
    {},
    (r: Reader) => r.file('url', '/nonexistent/keyless'),
    '--url / X_URL: cannot read /nonexistent/keyless',
  ],
])('bad input is named: %j', (env, read, message) => {
  expect(configError(() => read(settingsReader(TABLE, env))).message).toContain(message);
});
