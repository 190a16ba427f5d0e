import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { testIo } from '../support/cli-io.js';

describe('keyless-deploy CLI', () => {
  test('--help explains the commands and exits 0; no command is a usage error (2)', async () => {
    const io = testIo();
    expect(await main(['--help'], io)).toBe(0);
    expect(io.out()).toContain('Usage: keyless-deploy <command>');
    expect(io.out()).toContain('playground');
    expect(await main([], testIo())).toBe(2);
  });

  test('every command has --help with an example', async () => {
    for (const command of [
      'playground',
      'token',
      'dispatch',
      'run',
      'status',
      'approve',
      'reject',
      'github-app-manifest',
    ]) {
      const io = testIo();
      expect(await main([command, '--help'], io)).toBe(0);
      expect(io.out()).toContain(`Usage: keyless-deploy ${command}`);
      expect(io.out()).toMatch(/Example/);
      const viaHelp = testIo();
      expect(await main(['help', command], viaHelp)).toBe(0);
      expect(viaHelp.out()).toBe(io.out());
    }
  });

  test('--version prints the package version', async () => {
    const io = testIo();
    expect(await main(['--version'], io)).toBe(0);
    expect(io.out()).toMatch(/^keyless-deploy \d+\.\d+\.\d+\n$/);
  });

  test.each([
    [['deploy-everything'], 'unknown command "deploy-everything"'],
    [['constructor'], 'unknown command "constructor"'],
    [['__proto__'], 'unknown command "__proto__"'],
    [['playground', '--bogus'], 'unknown option --bogus\nUsage: keyless-deploy playground [--state-dir DIR]'],
    [['token', 'extra'], 'unexpected argument extra'],
    [['run'], 'choose a component: --receiver and/or --controller'],
  ])('usage errors exit 2 with a clear message: %j', async (argv, message) => {
    const io = testIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.err()).toContain(message);
  });

  test('run --receiver without an audience stops start-up naming the setting (exit 2)', async () => {
    const io = testIo({});
    expect(await main(['run', '--receiver', '--attestation-key-file', '/nonexistent'], io)).toBe(2);
    expect(io.err()).toContain('KEYLESS_OIDC_AUDIENCE');
  });

  test('run with a bad GitHub App setting stops start-up naming it (exit 2), before anything starts', async () => {
    const io = testIo({ KEYLESS_ATTESTATION_PUBLIC_KEY_FILE: '/nonexistent', KEYLESS_GITHUB_APP_ID: '1' });
    expect(await main(['run', '--controller'], io)).toBe(2);
    expect(io.err()).toContain(
      '--github-private-key-file / KEYLESS_GITHUB_PRIVATE_KEY_FILE: is required with an App id',
    );
    const help = testIo();
    expect(await main(['run', '--help'], help)).toBe(0);
    expect(help.out()).toContain('KEYLESS_GITHUB_WEBHOOK_SECRET_FILE');
  });

  test('token without a running playground fails (exit 1) and says how to start one', async () => {
    const io = testIo();
    const dir = mkdtempSync(join(tmpdir(), 'keyless-cli-'));
    expect(await main(['token', '--state-dir', dir], io)).toBe(1);
    expect(io.err()).toContain('no running playground');
    expect(io.err()).toContain('keyless-deploy playground');
  });

  test('token rejects a malformed --claim (exit 2)', async () => {
    const io = testIo();
    expect(await main(['token', '--claim', 'novalue'], io)).toBe(2);
    expect(io.err()).toContain('expected NAME=VALUE');
  });
});
