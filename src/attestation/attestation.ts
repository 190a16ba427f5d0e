/**
 * The receiver's attestation: a compact JWS (EdDSA/Ed25519, `typ: keyless-attestation+jws`) whose
 * payload binds the digest of the canonical spec to the request's namespace and name. The controller
 * trusts GitHub identity in a DeployRequest only when this verifies, so a hand-applied request cannot
 * claim to come from a workflow.
 */
import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
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
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: 'EdDSA', typ: ATTESTATION_TYPE, kid: key.keyId })
    .sign(key.privateKey);
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
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    return { ok: false, reason: 'attestation is not a compact JWS' };
  }
  if (header.typ !== ATTESTATION_TYPE)
    return { ok: false, reason: `attestation typ is not ${ATTESTATION_TYPE}` };
  if (header.alg !== 'EdDSA' && header.alg !== 'Ed25519') {
    return { ok: false, reason: `attestation algorithm ${String(header.alg)} is not allowed` };
  }
  const key = publicKeys.find((k) => k.keyId === header.kid);
  if (!key) return { ok: false, reason: `attestation key ${String(header.kid)} is not trusted` };
  let payload: AttestationPayload;
  try {
    const result = await compactVerify(jws, key.publicKey, { algorithms: ['EdDSA', 'Ed25519'] });
    payload = JSON.parse(new TextDecoder().decode(result.payload)) as AttestationPayload;
  } catch {
    return { ok: false, reason: 'attestation signature does not verify' };
  }
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
