#!/usr/bin/env node
// `npm run image`: build the product's Dockerfile with podman, unchanged, and record the image's
// size and layers in .image/image.json (the container test reads it).
//
// Base images: the Dockerfile's defaults (what releases are built from) when podman can pull them;
// otherwise local stand-ins of the same layout assembled from Debian's packages and the npm `node`
// package (scripts/image/stand-ins.mjs), announced loudly: such an image is for tests on this
// machine, never for release. `--bases real|stand-in|auto` (or KEYLESS_IMAGE_BASES) chooses.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PODMAN_ROOT, ULIMIT_ARGS, podman, podmanGlobalArgs, podmanProblem } from './image/podman.mjs';
import { ensureStandIns } from './image/stand-ins.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RECORD = join(ROOT, '.image', 'image.json');
const log = (line) => console.log(`image: ${line}`);

function fail(message, code = 1) {
  console.error(`image: ${message}`);
  process.exit(code);
}

const HELP = `Usage: npm run image [-- --bases auto|real|stand-in] [-- --tag NAME]

Builds the Dockerfile with podman (vfs storage in ${PODMAN_ROOT}, chroot isolation, runc) and
writes the image's id, size and layer count to .image/image.json.

  --bases auto      the Dockerfile's base images if podman can pull them, else local stand-ins (default)
  --bases real      only the Dockerfile's base images (fails when they cannot be pulled)
  --bases stand-in  local stand-ins assembled from Debian's packages and the npm node package
  --tag NAME        image name (default localhost/keyless-deploy:<version>-dev)

Exit codes: 0 built, 1 build failed, 2 usage, 3 podman cannot work on this machine.`;

function parseArgs(argv) {
  const options = { bases: process.env.KEYLESS_IMAGE_BASES || 'auto', tag: undefined };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h' || arg === '--help') {
      console.log(HELP);
      process.exit(0);
    } else if (arg === '--bases' || arg === '--tag') {
      const value = argv[++i];
      if (!value) fail(`${arg} needs a value\n${HELP}`, 2);
      options[arg.slice(2)] = value;
    } else fail(`unknown argument ${arg}\n${HELP}`, 2);
  }
  if (!['auto', 'real', 'stand-in'].includes(options.bases))
    fail(`--bases must be auto, real or stand-in, not '${options.bases}'`, 2);
  return options;
}

/** The Dockerfile's default base images (its `ARG NAME=default` lines): the one source of truth. */
function dockerfileBases() {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const arg = (name) => {
    const match = new RegExp(`^ARG ${name}=(\\S+)$`, 'm').exec(text);
    if (!match) fail(`the Dockerfile has no 'ARG ${name}=...' default`);
    return match[1];
  };
  return { build: arg('BUILD_IMAGE'), runtime: arg('RUNTIME_IMAGE') };
}

function pullProblem(image) {
  const result = podman(['pull', '--quiet', image], { timeoutMs: 180_000 });
  if (result.status === 0) return undefined;
  const lines = (result.stderr || String(result.error) || '').trim().split('\n');
  return lines.at(-1);
}

function banner(lines) {
  const rule = '*'.repeat(100);
  console.log([rule, ...lines.map((line) => `* ${line}`), rule].join('\n'));
}

/** Run podman with its output shown as it comes (a build takes minutes) and kept for reading. */
function streamed(args) {
  return new Promise((resolve) => {
    const child = spawn('podman', [...podmanGlobalArgs(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => process.stderr.write(chunk));
    child.on('error', (error) => resolve({ status: null, output: `${output}\n${error.message}` }));
    child.on('close', (status) => resolve({ status, output }));
  });
}

/**
 * With vfs every layer is a full copy, so each build leaves gigabytes behind. Keep the images of
 * this build (its final image and every cached step, which the next build reuses) and the tagged
 * ones (stand-ins); remove the untagged images of earlier builds, newest first so children go
 * before their parents. Images a running build or container uses refuse removal and stay.
 */
function pruneEarlierBuilds(buildOutput) {
  const kept = [...buildOutput.matchAll(/^--> (?:Using cache )?([0-9a-f]{11,64})$/gm)].map((m) => m[1]);
  const listed = podman(['images', '--all', '--format', 'json']);
  if (listed.status !== 0) return;
  const stale = JSON.parse(listed.stdout)
    .filter((image) => !(image.Names?.length > 0))
    .filter((image) => !kept.some((id) => image.Id.startsWith(id)))
    .sort((a, b) => b.Created - a.Created);
  let removed = 0;
  for (const image of stale) if (podman(['rmi', image.Id]).status === 0) removed += 1;
  if (removed > 0) log(`removed ${removed} images of earlier builds (the layer cache of this one is kept)`);
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const problem = podmanProblem();
  if (problem) fail(`cannot build: ${problem}`, 3);
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const nodeVersion = lock.packages?.['node_modules/node']?.version;
  if (!nodeVersion) fail('package-lock.json has no `node` devDependency (the Node version of the stand-ins)');
  const tag = options.tag ?? `localhost/keyless-deploy:${manifest.version}-dev`;
  const real = dockerfileBases();
  const started = Date.now();

  let bases = real;
  let standIn = options.bases === 'stand-in';
  if (options.bases !== 'stand-in') {
    const problems = [real.build, real.runtime]
      .map((image) => [image, pullProblem(image)])
      .filter(([, p]) => p);
    if (problems.length > 0) {
      if (options.bases === 'real')
        fail(`cannot pull the base images: ${problems.map(([i, p]) => `${i}: ${p}`).join('; ')}`);
      standIn = true;
      banner([
        'THE REAL BASE IMAGES CANNOT BE PULLED HERE:',
        ...problems.map(([image, p]) => `  ${image}: ${p}`),
        'Building with LOCAL STAND-INS of the same layout instead, assembled from Debian 13 packages',
        '(debootstrap) and the npm `node` package. The Dockerfile is unchanged; only its BUILD_IMAGE and',
        'RUNTIME_IMAGE arguments differ. This image is for tests on this machine, NOT for release:',
        'releases are built from the real bases by .github/workflows/release.yml.',
      ]);
    }
  }
  if (standIn) {
    const standIns = ensureStandIns({
      nodeVersion,
      workDir: join(PODMAN_ROOT, '..'),
      standingInFor: real,
      log,
    });
    bases = { build: standIns.build, runtime: standIns.runtime };
  }

  // The machine's npm trust store (here: a TLS-intercepting egress proxy's CA) as an optional build
  // secret: the Dockerfile's npm steps trust it, and it never reaches a layer.
  // npm's `cafile` first; else NODE_EXTRA_CA_CERTS, which npm (a Node program) trusts as well and
  // which is how some machines hand the proxy's CA to every Node process.
  const secrets = [];
  const configured = spawnSync('npm', ['config', 'get', 'cafile'], {
    encoding: 'utf8',
    cwd: ROOT,
  }).stdout?.trim();
  const cafile = [configured, process.env.NODE_EXTRA_CA_CERTS].find(
    (file) => file && file !== 'null' && existsSync(file),
  );
  if (cafile) {
    secrets.push('--secret', `id=ca-certificates,src=${cafile}`);
    log(`the CA bundle npm trusts, ${cafile}, is passed to the build as the ca-certificates secret`);
  }
  log(`building ${tag} from ${bases.build} (build stages) and ${bases.runtime} (runtime)`);
  const build = await streamed([
    'build',
    '--isolation',
    'chroot',
    '--layers',
    '--pull=never',
    ...ULIMIT_ARGS,
    ...secrets,
    '--build-arg',
    `BUILD_IMAGE=${bases.build}`,
    '--build-arg',
    `RUNTIME_IMAGE=${bases.runtime}`,
    '--label',
    `dev.keyless-deploy.bases=${standIn ? 'stand-in' : 'real'}`,
    '--tag',
    tag,
    '--file',
    join(ROOT, 'Dockerfile'),
    ROOT,
  ]);
  if (build.status !== 0) fail(`podman build failed (exit ${build.status})`);
  pruneEarlierBuilds(build.output);

  const inspect = podman(['image', 'inspect', tag]);
  if (inspect.status !== 0) fail(`cannot inspect ${tag}: ${inspect.stderr}`);
  const [image] = JSON.parse(inspect.stdout);
  const runtimeInspect = JSON.parse(podman(['image', 'inspect', bases.runtime]).stdout)[0];
  const layers = image.RootFS.Layers.length;
  const baseLayers = runtimeInspect.RootFS.Layers.length;
  const record = {
    image: tag,
    id: image.Id,
    bases: { kind: standIn ? 'stand-in' : 'real', build: bases.build, runtime: bases.runtime, real },
    sizeBytes: image.Size,
    layers,
    baseLayers,
    user: image.Config.User,
    entrypoint: image.Config.Entrypoint,
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 1000),
  };
  mkdirSync(dirname(RECORD), { recursive: true });
  writeFileSync(RECORD, `${JSON.stringify(record, null, 2)}\n`);
  log(
    `${tag} ${image.Id.slice(0, 12)}: ${(image.Size / 1_000_000).toFixed(1)} MB, ${layers} layers ` +
      `(${baseLayers} from ${standIn ? 'the stand-in' : 'the'} runtime base, ${layers - baseLayers} own), ` +
      `built in ${record.buildSeconds} s${standIn ? ' WITH STAND-IN BASES' : ''}; recorded in .image/image.json`,
  );
}

await main();
