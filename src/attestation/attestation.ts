/**
 * The receiver's attestation: a compact JWS (EdDSA/Ed25519, `typ: keyless-attestation+jws`) whose
 * payload binds the digest of the canonical spec to the request's namespace and name. The controller
 * trusts GitHub identity in a DeployRequest only when this verifies, so a hand-applied request cannot
 * claim to come from a workflow.
 */
import { sign, verify } from 'node:crypto';
import type { DeployRequest, DeployRequestSpec } from '../api/types.js';
import type { AttestationPublicKey, AttestationSigningKey } from './attestation-keys.js';
import { specDigest } from './canonical-json.js';

/** JWS `typ` of attestations; a JWS of another type is never accepted as one. */
export const ATTESTATION_TYPE = 'keyless-attestation+jws';

/** What an attestation says. */
export interface AttestationPayload {
  /** Format version. */
  v: 1;
  /** Namespace of the attested DeployRequest. */
  ns: string;
  /** Name of the attested DeployRequest. */
  name: string;
  /** `sha256:<hex>` of the canonical spec without `source.attestation`. */
  spec: string;
  /** Issued at, seconds since the epoch. */
  iat: number;
}

export interface AttestationSubject {
  namespace: string;
  name: string;
  spec: DeployRequestSpec;
}

/** Sign the canonical spec of a request about to be created. */
export async function signAttestation(
  subject: AttestationSubject,
  key: AttestationSigningKey,
  now: Date = new Date(),
): Promise<string> {
  const payload: AttestationPayload = {
    v: 1,
    ns: subject.namespace,
    name: subject.name,
    spec: specDigest(subject.spec),
    iat: Math.floor(now.getTime() / 1000),
  };
  // A compact JWS (RFC 7515) signed with one synchronous node:crypto call: Ed25519 signs the
  // message itself (no digest to choose, hence `null`), deterministically.
  const header = base64url(JSON.stringify({ alg: 'EdDSA', typ: ATTESTATION_TYPE, kid: key.keyId }));
  const input = `${header}.${base64url(JSON.stringify(payload))}`;
  return `${input}.${sign(null, Buffer.from(input), key.privateKey).toString('base64url')}`;
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

/** A base64url segment decoded as a JSON object, or undefined. */
function decodeSegment(segment: string | undefined): Record<string, unknown> | undefined {
  if (segment === undefined || !/^[A-Za-z0-9_-]+$/.test(segment)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export type AttestationResult =
  { ok: true; keyId: string; payload: AttestationPayload } | { ok: false; reason: string };

/** Check a stored request's attestation against the receiver's public keys. Never throws. */
export async function verifyAttestation(
  request: Pick<DeployRequest, 'metadata' | 'spec'>,
  publicKeys: readonly AttestationPublicKey[],
): Promise<AttestationResult> {
  const jws = request.spec?.source?.attestation;
  if (typeof jws !== 'string' || jws.length === 0) return { ok: false, reason: 'request has no attestation' };
  if (jws.length > 4096) return { ok: false, reason: 'attestation is too long' };
  const parts = jws.split('.');
  const header = parts.length === 3 ? decodeSegment(parts[0]) : undefined;
  if (!header) return { ok: false, reason: 'attestation is not a compact JWS' };
  if (header.typ !== ATTESTATION_TYPE)
    return { ok: false, reason: `attestation typ is not ${ATTESTATION_TYPE}` };
  if (header.alg !== 'EdDSA' && header.alg !== 'Ed25519') {
    return { ok: false, reason: `attestation algorithm ${String(header.alg)} is not allowed` };
  }
  if (header.crit !== undefined) return { ok: false, reason: 'attestation uses critical header parameters' };
  const key = publicKeys.find((k) => k.keyId === header.kid);
  if (!key) return { ok: false, reason: `attestation key ${String(header.kid)} is not trusted` };
  const signature = /^[A-Za-z0-9_-]+$/.test(parts[2]!) ? Buffer.from(parts[2]!, 'base64url') : undefined;
  const valid =
    signature !== undefined && verify(null, Buffer.from(`${parts[0]}.${parts[1]}`), key.publicKey, signature);
  const payload = valid ? (decodeSegment(parts[1]) as AttestationPayload | undefined) : undefined;
  if (!valid || !payload) return { ok: false, reason: 'attestation signature does not verify' };
  if (payload?.v !== 1) return { ok: false, reason: 'attestation version is not supported' };
  if (payload.ns !== request.metadata.namespace || payload.name !== request.metadata.name) {
    return { ok: false, reason: 'attestation was made for another request' };
  }
  let digest: string;
  try {
    digest = specDigest(request.spec);
  } catch {
    return { ok: false, reason: 'spec cannot be canonicalised' };
  }
  if (payload.spec !== digest) return { ok: false, reason: 'spec was changed after attestation' };
  return { ok: true, keyId: key.keyId, payload };
}
