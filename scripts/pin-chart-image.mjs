#!/usr/bin/env node
// Release step: pin a chart's image to the digest just pushed, so installing the chart version
// installs exactly the image that was signed and attested.
//   node scripts/pin-chart-image.mjs CHART_DIR REPOSITORY VERSION@sha256:DIGEST
// Edits CHART_DIR/values.yaml in place (image.repository, image.tag), keeping its comments.
// Exit codes: 0 pinned, 2 bad arguments (nothing written).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';

function usage(message) {
  console.error(
    `pin-chart-image: ${message}\nusage: node scripts/pin-chart-image.mjs CHART_DIR REPOSITORY VERSION@sha256:DIGEST`,
  );
  process.exit(2);
}

const [chartDir, repository, tag] = process.argv.slice(2);
if (!chartDir || !repository || !tag || process.argv.length !== 5) usage('three arguments are needed');
// A registry host and a lower-case path, as OCI references require; no tag or digest in it.
if (!/^[a-z0-9.-]+(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)+$/.test(repository))
  usage(`'${repository}' is not an image repository (lower case, no tag)`);
if (!/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?@sha256:[0-9a-f]{64}$/.test(tag))
  usage(`'${tag}' is not VERSION@sha256:<64 hex digits>`);

const path = join(chartDir, 'values.yaml');
let document;
try {
  document = parseDocument(readFileSync(path, 'utf8'));
} catch (error) {
  usage(`cannot read ${path}: ${error.message}`);
}
if (document.errors.length > 0 || !document.has('image')) usage(`${path} has no image section`);
document.setIn(['image', 'repository'], repository);
document.setIn(['image', 'tag'], tag);
writeFileSync(path, document.toString());
console.log(`pin-chart-image: ${path}: image ${repository}:${tag}`);
