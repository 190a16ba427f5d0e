/** The receiver's attestation over DeployRequests: signing (receiver) and verification (controller). */
export { signAttestation, verifyAttestation, ATTESTATION_TYPE } from './attestation.js';
export type { AttestationPayload, AttestationResult, AttestationSubject } from './attestation.js';
export { canonicalJson, canonicalSpec, specDigest } from './canonical-json.js';
export {
  attestationKeyId,
  generateAttestationKeyPair,
  loadAttestationPublicKeys,
  loadAttestationSigningKey,
  parseAttestationPrivateKey,
  parseAttestationPublicKeys,
} from './attestation-keys.js';
export type { AttestationPublicKey, AttestationSigningKey } from './attestation-keys.js';
