/**
 * Ed25519 keys of the receiver's attestation. The receiver holds the private key
 * (`KEYLESS_ATTESTATION_KEY_FILE`); the controller needs only public keys
 * (`KEYLESS_ATTESTATION_PUBLIC_KEY_FILE`), and derives one when handed the private key file instead.
 * Key ids are RFC 7638 JWK thumbprints, so both sides agree on them without configuration.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { calculateJwkThumbprint, exportJWK } from 'jose';

/** A private key able to sign attestations. */
export interface AttestationSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  keyId: string;
}

/** A public key able to verify attestations. */
export interface AttestationPublicKey {
  publicKey: KeyObject;
  keyId: string;
}

/** Thumbprint key id of an Ed25519 public key. */
export async function attestationKeyId(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(publicKey), 'sha256');
}

function assertEd25519(key: KeyObject, what: string): void {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${what} must be an Ed25519 key, got ${key.asymmetricKeyType ?? key.type}`);
  }
}

/** Parse a PKCS#8 PEM Ed25519 private key. */
export async function parseAttestationPrivateKey(pem: string): Promise<AttestationSigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new Error('attestation key is not a PEM private key');
  }
  assertEd25519(privateKey, 'attestation key');
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, keyId: await attestationKeyId(publicKey) };
}

/**
 * Parse every PEM block of a file as an Ed25519 public key; private key blocks are reduced to their
 * public half. Several blocks allow key rotation (old and new key both accepted).
 */
export async function parseAttestationPublicKeys(pem: string): Promise<AttestationPublicKey[]> {
  const blocks = pem.match(/-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM key found');
  const keys: AttestationPublicKey[] = [];
  for (const block of blocks) {
    const publicKey = /PRIVATE KEY/.test(block.split('\n')[0] ?? '')
      ? createPublicKey(createPrivateKey({ key: block, format: 'pem' }))
      : createPublicKey({ key: block, format: 'pem' });
    assertEd25519(publicKey, 'attestation public key');
    keys.push({ publicKey, keyId: await attestationKeyId(publicKey) });
  }
  return keys;
}

/** Load the receiver's signing key from a PEM file. Errors name the file. */
export async function loadAttestationSigningKey(file: string): Promise<AttestationSigningKey> {
  const pem = await readFile(file, 'utf8').catch((error: Error) => {
    throw new Error(`cannot read attestation key file ${file}: ${error.message}`);
  });
  return parseAttestationPrivateKey(pem).catch((error: Error) => {
    throw new Error(`attestation key file ${file}: ${error.message}`);
  });
}

/** Load verification keys (public, or private to derive from) from a PEM file. Errors name the file. */
export async function loadAttestationPublicKeys(file: string): Promise<AttestationPublicKey[]> {
  const pem = await readFile(file, 'utf8').catch((error: Error) => {
    throw new Error(`cannot read attestation public key file ${file}: ${error.message}`);
  });
  return parseAttestationPublicKeys(pem).catch((error: Error) => {
    throw new Error(`attestation public key file ${file}: ${error.message}`);
  });
}

/** A fresh key pair as PEM (playground, tests, `keyless-deploy` key generation). */
export async function generateAttestationKeyPair(): Promise<{
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: string;
}> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string,
    keyId: await attestationKeyId(publicKey),
  };
}
