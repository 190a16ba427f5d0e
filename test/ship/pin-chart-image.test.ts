/** The release step that pins the chart's image to the pushed digest (scripts/pin-chart-image.mjs). */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHART, helm } from '../support/helm.js';
import { PROJECT_ROOT } from '../support/kubectl.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function chartCopy(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'keyless-pin-')), 'keyless-deploy');
  cpSync(CHART, dir, { recursive: true });
  return dir;
}

function pin(args: string[]) {
  return spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts', 'pin-chart-image.mjs'), ...args], {
    encoding: 'utf8',
  });
}

test('pins image.repository and image.tag to VERSION@DIGEST, keeping the comments', () => {
  const chart = chartCopy();
  const result = pin([chart, 'ghcr.io/acme/keyless-deploy', `0.1.0@${DIGEST}`]);
  expect([result.status, result.stderr]).toEqual([0, '']);
  const values = readFileSync(join(chart, 'values.yaml'), 'utf8');
  expect(values).toContain('# -- Container image of both components (one image, one binary).');
  const rendered = helm(['template', 'kd', chart, '--namespace', 'keyless-system']);
  expect(rendered.code).toBe(0);
  const images = [...rendered.stdout.matchAll(/^\s+image: (\S+)$/gm)].map((m) => m[1]);
  expect(images).toEqual([
    `ghcr.io/acme/keyless-deploy:0.1.0@${DIGEST}`,
    `ghcr.io/acme/keyless-deploy:0.1.0@${DIGEST}`,
  ]);
});

test.each([
  [
    ['ghcr.io/Acme/keyless-deploy', `0.1.0@${DIGEST}`],
    "'ghcr.io/Acme/keyless-deploy' is not an image repository",
  ],
  [['ghcr.io/acme/keyless-deploy:0.1.0', `0.1.0@${DIGEST}`], 'is not an image repository'],
  [['ghcr.io/acme/keyless-deploy', '0.1.0'], "'0.1.0' is not VERSION@sha256:<64 hex digits>"],
  [['ghcr.io/acme/keyless-deploy', `latest@${DIGEST}`], 'is not VERSION@sha256'],
  [['ghcr.io/acme/keyless-deploy'], 'three arguments are needed'],
])('refuses bad arguments with exit code 2 and writes nothing: %j', (args, message) => {
  const chart = chartCopy();
  const before = readFileSync(join(chart, 'values.yaml'), 'utf8');
  const result = pin([chart, ...args]);
  expect(result.status).toBe(2);
  expect(result.stderr).toContain(message);
  expect(readFileSync(join(chart, 'values.yaml'), 'utf8')).toBe(before);
});
