/**
 * Conversions between raw Ed25519 key bytes and node:crypto KeyObjects. Private keys
 * live in KeyObjects everywhere else in this module; raw seeds exist only transiently
 * while a signer-key string is parsed or generated.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { CustosError } from '../errors.js';
import { ED25519_PUBLIC_KEY_BYTES, ED25519_SIGNATURE_BYTES } from './key-id.js';

// DER prefixes of RFC 8410 structures for Ed25519 (OID 1.3.101.112).
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Wraps a raw 32-byte Ed25519 public key in a KeyObject. */
export function ed25519PublicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new CustosError('INVALID_ARGUMENT', `Ed25519 public key must be 32 bytes, got ${raw.length}`);
  }
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new CustosError('INVALID_ARGUMENT', 'Ed25519 public key is not a valid encoding', { cause });
  }
}

/** Wraps a raw 32-byte Ed25519 seed in a private KeyObject. */
export function ed25519PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new CustosError('INVALID_ARGUMENT', 'Ed25519 seed must be 32 bytes');
  }
  const der = Buffer.concat([PKCS8_PREFIX, seed]);
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } finally {
    der.fill(0); // MUST NOT linger: contains key material
  }
}

/** Throws unless `key` is an Ed25519 KeyObject of the given kind. */
export function assertEd25519Key(key: KeyObject, kind: 'private' | 'public'): void {
  if (key.type !== kind || key.asymmetricKeyType !== 'ed25519') {
    throw new CustosError('INVALID_ARGUMENT', `expected an Ed25519 ${kind} KeyObject`);
  }
}

/** The raw 32-byte public key of an Ed25519 KeyObject (public or private). */
export function ed25519RawPublicKey(key: KeyObject): Uint8Array {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const der = pub.export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - ED25519_PUBLIC_KEY_BYTES));
}

/** The raw 32-byte seed of an Ed25519 private KeyObject. Callers MUST wipe it after use. */
export function ed25519RawSeed(key: KeyObject): Uint8Array {
  assertEd25519Key(key, 'private');
  const der = key.export({ format: 'der', type: 'pkcs8' });
  const seed = new Uint8Array(der.subarray(der.length - ED25519_PUBLIC_KEY_BYTES));
  der.fill(0);
  return seed;
}

/** Signs `message` with an Ed25519 private KeyObject (RFC 8032, deterministic). */
export function ed25519Sign(key: KeyObject, message: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, key));
}

/** True when `signature` is a valid Ed25519 signature of `message` under `key`. */
export function ed25519Verify(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_BYTES) return false;
  return verify(null, message, key, signature);
}
