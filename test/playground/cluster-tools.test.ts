/**
 * Where the real control plane's binaries come from: without them, `playground --control-plane
 * real` and the cluster tests say which command builds them (checked in a copy of the repository's
 * build script and wrapper modules, with nothing built).
 */
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findClusterTools, REPOSITORY_ROOT } from '../../src/playground/control-plane/cluster-tools.js';

function checkoutWithoutBinaries(): string {
  const root = mkdtempSync(join(tmpdir(), 'keyless-checkout-'));
  mkdirSync(join(root, 'scripts'));
  cpSync(join(REPOSITORY_ROOT, 'scripts', 'cluster-tools.mjs'), join(root, 'scripts', 'cluster-tools.mjs'));
  cpSync(join(REPOSITORY_ROOT, 'test', 'cluster', 'go'), join(root, 'test', 'cluster', 'go'), {
    recursive: true,
  });
  return root;
}

test('without built binaries the error names npm run cluster-tools and what it needs', () => {
  expect(() => findClusterTools(checkoutWithoutBinaries())).toThrow(
    /not built \(or its versions changed\): run `npm run cluster-tools` \(needs Go >= 1\.26/,
  );
});

test('outside a checkout (the image) the error says the real control plane needs one', () => {
  expect(() => findClusterTools(mkdtempSync(join(tmpdir(), 'keyless-image-')))).toThrow(
    /needs a checkout of keyless-deploy/,
  );
});
