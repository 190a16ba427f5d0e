#!/usr/bin/env node
/**
 * `npm run cluster-tools`: builds the real Kubernetes control plane the cluster tests and
 * `playground --control-plane real` run (etcd, kube-apiserver, kube-controller-manager,
 * kube-scheduler, kwok) with `go build` from the wrapper modules in `test/cluster/go/`, whose
 * go.mod/go.sum pin every version. Binaries go to `.tools/cluster/<kubernetes version>/` with a
 * `manifest.json`; they are reused while the wrapper modules are unchanged. Needs Go >= 1.26 and
 * the Go module proxy. Prints the directory on its last line.
 *
 * Flags: --check (exit 0 and print the directory when up to date, 1 when a build is needed;
 * builds nothing).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const modules = join(root, 'test', 'cluster', 'go');
/** Bump when the build flags below change, so old binaries are rebuilt. */
const RECIPE = 2;

/** The version a wrapper module requires of `path`, from its go.mod. */
function required(module, path) {
  const goMod = readFileSync(join(modules, module, 'go.mod'), 'utf8');
  const line = goMod.split('\n').find((l) => l.trim().startsWith(`${path} v`));
  if (!line) throw new Error(`test/cluster/go/${module}/go.mod does not require ${path}`);
  return line.trim().split(/\s+/)[1];
}

function fail(message, code = 1) {
  process.stderr.write(`cluster-tools: ${message}\n`);
  process.exit(code);
}

function goVersion() {
  const result = spawnSync('go', ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (result.error || result.status !== 0)
    fail(
      'the Go toolchain (go >= 1.26) is not on PATH; install it to build the real control plane ' +
        '(npm test does not need it)',
      2,
    );
  const version = result.stdout.trim();
  const [major, minor] = version.replace(/^go/, '').split('.').map(Number);
  if (major < 1 || (major === 1 && minor < 26))
    fail(`${version} is too old: Kubernetes 1.36 needs go >= 1.26`, 2);
  return version;
}

const versions = {
  kubernetes: required('kube', 'k8s.io/kubernetes'),
  etcd: required('etcd', 'go.etcd.io/etcd/server/v3'),
  kwok: required('kwok', 'sigs.k8s.io/kwok'),
};
const inputs = createHash('sha256');
inputs.update(`recipe ${RECIPE}\n`);
for (const module of ['kube', 'etcd', 'kwok'])
  for (const file of ['go.mod', 'go.sum']) inputs.update(readFileSync(join(modules, module, file)));
const inputsHash = inputs.digest('hex').slice(0, 16);
const out = join(root, '.tools', 'cluster', versions.kubernetes);
const manifestPath = join(out, 'manifest.json');
const BINARIES = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];

function upToDate() {
  if (!existsSync(manifestPath)) return false;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  return manifest.inputsHash === inputsHash && BINARIES.every((name) => existsSync(join(out, name)));
}

if (upToDate()) {
  if (!process.argv.includes('--check'))
    process.stdout.write(
      `cluster-tools: Kubernetes ${versions.kubernetes}, etcd ${versions.etcd}, kwok ${versions.kwok} up to date\n`,
    );
  process.stdout.write(`${out}\n`);
  process.exit(0);
}
if (process.argv.includes('--check')) {
  process.stdout.write(`cluster-tools: a build is needed (npm run cluster-tools)\n`);
  process.exit(1);
}

const go = goVersion();
const [, major, minor] = /^v(\d+)\.(\d+)/.exec(versions.kubernetes);
// What upstream's release build stamps, so `kubectl version` and Helm's kubeVersion checks see the
// real version instead of v0.0.0-master.
const stamp = [
  'gitVersion=' + versions.kubernetes,
  `gitMajor=${major}`,
  `gitMinor=${minor}`,
  'gitTreeState=clean',
  `buildDate=${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
];
const kubeLdflags = [
  '-s -w',
  ...stamp.map((s) => `-X k8s.io/component-base/version.${s}`),
  ...stamp.map((s) => `-X k8s.io/client-go/pkg/version.${s}`),
].join(' ');

const builds = [
  {
    module: 'kube',
    packages: [
      'k8s.io/kubernetes/cmd/kube-apiserver',
      'k8s.io/kubernetes/cmd/kube-controller-manager',
      'k8s.io/kubernetes/cmd/kube-scheduler',
    ],
    ldflags: kubeLdflags,
  },
  { module: 'etcd', packages: ['go.etcd.io/etcd/server/v3'], output: 'etcd', ldflags: '-s -w' },
  { module: 'kwok', packages: ['sigs.k8s.io/kwok/cmd/kwok'], ldflags: '-s -w' },
];

const staging = `${out}.partial`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
process.stdout.write(
  `cluster-tools: building Kubernetes ${versions.kubernetes}, etcd ${versions.etcd}, kwok ${versions.kwok} with ${go} ` +
    `(first build: several minutes on 2 cores; later runs reuse the binaries)\n`,
);
const timings = {};
for (const build of builds) {
  const started = Date.now();
  process.stdout.write(`cluster-tools: go build ${build.packages.join(' ')}\n`);
  const target = build.output ? join(staging, build.output) : `${staging}/`;
  const result = spawnSync(
    'go',
    ['build', '-trimpath', '-mod=readonly', '-ldflags', build.ldflags, '-o', target, ...build.packages],
    {
      cwd: join(modules, build.module),
      stdio: 'inherit',
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' },
    },
  );
  if (result.status !== 0) fail(`go build in test/cluster/go/${build.module} failed (exit ${result.status})`);
  timings[build.module] = Math.round((Date.now() - started) / 1000);
  process.stdout.write(`cluster-tools: ${build.module} built in ${timings[build.module]} s\n`);
}
writeFileSync(
  join(staging, 'manifest.json'),
  `${JSON.stringify({ ...versions, go, inputsHash, builtAt: new Date().toISOString(), buildSeconds: timings }, null, 2)}\n`,
);
rmSync(out, { recursive: true, force: true });
renameSync(staging, out);
process.stdout.write(`cluster-tools: done\n${out}\n`);
