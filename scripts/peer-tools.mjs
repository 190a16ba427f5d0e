#!/usr/bin/env node
/**
 * `npm run peer-tools`: builds the bench's real peer, Flux notification-controller (its
 * `generic-oidc` Receiver), with `go build` from the wrapper module `bench/peer/go/`, whose
 * go.mod/go.sum pin every version (nothing of Flux is committed). Writes to
 * `.tools/peer/<version>/`: the binary, the Receiver CRD and the controller's ClusterRole taken
 * from the module cache, the GitRepository CRD of source-controller (the object a Receiver
 * annotates; source-controller itself does not run) and a `manifest.json`. Reused while the inputs
 * are unchanged. Needs Go >= 1.26 and the Go module proxy. Prints the directory on its last line.
 *
 * Flags: --check (exit 0 and print the directory when up to date, 1 when a build is needed).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const module = join(root, 'bench', 'peer', 'go');
/** Bump when the build recipe below changes. */
const RECIPE = 1;
const NOTIFICATION_CONTROLLER = 'github.com/fluxcd/notification-controller';
/**
 * The GitRepository CRD comes from source-controller's module (verified against the checksum
 * database by `go mod download`); v1.8.0 serves `source.toolkit.fluxcd.io/v1` as the Receiver expects.
 */
const SOURCE_CONTROLLER = 'github.com/fluxcd/source-controller@v1.8.0';

function fail(message, code = 1) {
  process.stderr.write(`peer-tools: ${message}\n`);
  process.exit(code);
}

function go(args, options = {}) {
  const result = spawnSync('go', args, {
    cwd: module,
    encoding: 'utf8',
    env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
    ...options,
  });
  if (result.error) fail('the Go toolchain (go >= 1.26) is not on PATH', 2);
  if (result.status !== 0) fail(`go ${args.join(' ')} failed:\n${result.stderr ?? ''}`);
  return result.stdout ?? '';
}

const goMod = readFileSync(join(module, 'go.mod'), 'utf8');
const versionLine = goMod.split('\n').find((l) => l.trim().startsWith(`${NOTIFICATION_CONTROLLER} v`));
if (!versionLine) fail(`bench/peer/go/go.mod does not require ${NOTIFICATION_CONTROLLER}`);
const version = versionLine.trim().split(/\s+/)[1];
const inputs = createHash('sha256');
inputs.update(`recipe ${RECIPE}\n${SOURCE_CONTROLLER}\n`);
for (const file of ['go.mod', 'go.sum']) inputs.update(readFileSync(join(module, file)));
const inputsHash = inputs.digest('hex').slice(0, 16);
const out = join(root, '.tools', 'peer', version);
const manifestPath = join(out, 'manifest.json');
const FILES = ['notification-controller', 'crds/receivers.yaml', 'crds/gitrepositories.yaml', 'role.yaml'];

function upToDate() {
  if (!existsSync(manifestPath)) return false;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  return manifest.inputsHash === inputsHash && FILES.every((name) => existsSync(join(out, name)));
}

if (upToDate()) {
  if (!process.argv.includes('--check'))
    process.stdout.write(`peer-tools: notification-controller ${version} up to date\n`);
  process.stdout.write(`${out}\n`);
  process.exit(0);
}
if (process.argv.includes('--check')) {
  process.stdout.write('peer-tools: a build is needed (npm run peer-tools)\n');
  process.exit(1);
}

const goVersion = go(['env', 'GOVERSION']).trim();
const [major, minor] = goVersion.replace(/^go/, '').split('.').map(Number);
if (major < 1 || (major === 1 && minor < 26))
  fail(`${goVersion} is too old: the wrapper module needs go >= 1.26`, 2);

const staging = `${out}.partial`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(join(staging, 'crds'), { recursive: true });
process.stdout.write(
  `peer-tools: building ${NOTIFICATION_CONTROLLER} ${version} with ${goVersion} (first build: several minutes on 2 cores)\n`,
);
const started = Date.now();
const build = spawnSync(
  'go',
  [
    'build',
    '-trimpath',
    '-mod=readonly',
    '-ldflags',
    '-s -w',
    '-o',
    join(staging, 'notification-controller'),
    NOTIFICATION_CONTROLLER,
  ],
  { cwd: module, stdio: 'inherit', env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' } },
);
if (build.status !== 0) fail(`go build in bench/peer/go failed (exit ${build.status})`);
const buildSeconds = Math.round((Date.now() - started) / 1000);

// The CRDs and the ClusterRole come from the module cache at build time and are never committed.
const ncDir = go(['list', '-m', '-f', '{{.Dir}}', NOTIFICATION_CONTROLLER]).trim();
copyFileSync(
  join(ncDir, 'config', 'crd', 'bases', 'notification.toolkit.fluxcd.io_receivers.yaml'),
  join(staging, 'crds', 'receivers.yaml'),
);
copyFileSync(join(ncDir, 'config', 'rbac', 'role.yaml'), join(staging, 'role.yaml'));
const source = JSON.parse(go(['mod', 'download', '-json', SOURCE_CONTROLLER]));
if (!source.Dir) fail(`go mod download ${SOURCE_CONTROLLER}: ${source.Error ?? 'no directory'}`);
copyFileSync(
  join(source.Dir, 'config', 'crd', 'bases', 'source.toolkit.fluxcd.io_gitrepositories.yaml'),
  join(staging, 'crds', 'gitrepositories.yaml'),
);
writeFileSync(
  join(staging, 'manifest.json'),
  `${JSON.stringify({ notificationController: version, sourceControllerCrds: SOURCE_CONTROLLER, go: goVersion, inputsHash, builtAt: new Date().toISOString(), buildSeconds }, null, 2)}\n`,
);
rmSync(out, { recursive: true, force: true });
renameSync(staging, out);
process.stdout.write(`peer-tools: done in ${buildSeconds} s\n${out}\n`);
