/**
 * What can be checked of the container image from its sources (container-run.test.ts builds and
 * runs it): everything the compiled code imports at run time is a production dependency (the image
 * installs `--omit=dev`), and the Dockerfile keeps its promises (multi-stage, real base images by
 * default, non-root, exec-form entry point so Node is PID 1 and gets SIGTERM, the CRDs the
 * playground installs) with a build context of nothing else.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { PROJECT_ROOT } from '../support/kubectl.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

test('every package the shipped code imports is a production dependency', () => {
  const manifest = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const builtins = new Set(builtinModules);
  const missing: string[] = [];
  // src/action is bundled separately into action/dist with Node built-ins only.
  for (const file of files(join(PROJECT_ROOT, 'src')).filter((f) => !f.includes('/src/action/'))) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^'.][^']*)'/gm)) {
      const specifier = match[1] as string;
      if (specifier.startsWith('node:') || builtins.has(specifier)) continue;
      // `import type` vanishes at compile time.
      if (/^\s*(?:import|export)\s+type\s/.test(match[0])) continue;
      if (!Object.hasOwn(manifest.dependencies, packageOf(specifier)))
        missing.push(`${relative(PROJECT_ROOT, file)}: ${specifier}`);
    }
  }
  expect(missing).toEqual([]);
});

test('the Dockerfile: multi-stage, real base images by default, production dependencies, non-root, Node as PID 1, CRDs included', () => {
  const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  // Base images are build arguments whose defaults are the ones a release pulls (docs/operations.md).
  expect(dockerfile).toMatch(/^ARG BUILD_IMAGE=docker\.io\/library\/node:24-trixie-slim$/m);
  expect(dockerfile).toMatch(/^ARG RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs24-debian13:nonroot$/m);
  const stages = dockerfile.split(/^FROM /m).slice(1);
  expect(stages.map((stage) => stage.split('\n')[0])).toEqual([
    '--platform=$BUILDPLATFORM ${BUILD_IMAGE} AS build',
    '--platform=$BUILDPLATFORM ${BUILD_IMAGE} AS deps',
    '${RUNTIME_IMAGE}',
  ]);
  const runtime = stages.at(-1) as string;
  expect(dockerfile).toMatch(/npm ci --omit=dev/);
  expect(runtime).toMatch(/^USER 65532:65532$/m);
  expect(runtime).toMatch(/^ENTRYPOINT \["\/nodejs\/bin\/node", "dist\/cli\/main\.js"\]$/m);
  expect(runtime).toMatch(/^COPY crds \.\/crds$/m);
  // Nothing in the runtime stage writes to the image at run time: no RUN at all.
  expect(runtime).not.toMatch(/^RUN /m);
});

test('the build context is an allow-list of what the Dockerfile copies', () => {
  const ignore = readFileSync(join(PROJECT_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((line) => line && !line.startsWith('#'));
  expect(ignore).toEqual([
    '*',
    '!package.json',
    '!package-lock.json',
    '!tsconfig.json',
    '!tsconfig.build.json',
    '!src/',
    '!crds/',
  ]);
  const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
  const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
    (m[1] as string).split(' '),
  );
  expect([...new Set(copied)].sort()).toEqual([
    'crds',
    'package-lock.json',
    'package.json',
    'src',
    'tsconfig.build.json',
    'tsconfig.json',
  ]);
});
