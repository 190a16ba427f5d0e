/**
 * Names of DeployRequests created by the receiver. The name is a function of the verified token's
 * issuer and `jti`, so the API server's name uniqueness makes "one token, one request" hold across
 * any number of receiver replicas without shared state.
 */
import { createHash } from 'node:crypto';
import type { GitHubIdentity } from '../api/types.js';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Lower-case RFC 4648 base32 without padding: DNS-1123 safe. */
function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** Longest readable prefix taken from the repository name. */
const PREFIX_LENGTH = 30;

/**
 * `<repository-name>-<20 base32 chars of sha256(issuer|jti)>`: at most 51 characters, a valid
 * DNS-1123 label. 100 bits of hash make an accidental collision of two tokens negligible.
 */
export function deriveRequestName(
  identity: Pick<GitHubIdentity, 'issuer' | 'repository' | 'tokenId'>,
): string {
  if (!identity.tokenId) throw new Error('a token id (jti) is required to name a request');
  const digest = createHash('sha256').update(`${identity.issuer}|${identity.tokenId}`, 'utf8').digest();
  const repoName = identity.repository.split('/').pop() ?? '';
  const prefix =
    repoName
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/-+/g, '-')
      .slice(0, PREFIX_LENGTH)
      .replace(/^-+|-+$/g, '') || 'deploy';
  return `${prefix}-${base32(digest).slice(0, 20)}`;
}
