/**
 * Signature types and key IDs of c2sp.org/signed-note:
 * `key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]`, read as a
 * big-endian uint32.
 */
import { createHash } from 'node:crypto';
import { utf8Bytes } from './note-text.js';

/** Signature type 0x01: plain Ed25519 over the note text (log checkpoint signatures). */
export const SIGNATURE_TYPE_ED25519 = 0x01;
/** Signature type 0x04: timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature v1). */
export const SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04;

/** The signature types Custos verifies and produces. */
export type SignatureType = typeof SIGNATURE_TYPE_ED25519 | typeof SIGNATURE_TYPE_COSIGNATURE_V1;

/** A 32-bit key ID (unsigned). */
export type KeyId = number & { readonly __brand: 'KeyId' };

/** Length of an Ed25519 public key, seed and signature, in bytes. */
export const ED25519_PUBLIC_KEY_BYTES = 32;
/** Length of an Ed25519 signature, in bytes. */
export const ED25519_SIGNATURE_BYTES = 64;

/** True when `t` is a signature type Custos supports. */
export function isSupportedSignatureType(t: number): t is SignatureType {
  return t === SIGNATURE_TYPE_ED25519 || t === SIGNATURE_TYPE_COSIGNATURE_V1;
}

/** Computes the key ID of (`name`, `type`, `publicKey`). */
export function computeKeyId(name: string, type: number, publicKey: Uint8Array): KeyId {
  const h = createHash('sha256');
  h.update(utf8Bytes(name));
  h.update(Uint8Array.of(0x0a, type));
  h.update(publicKey);
  return h.digest().readUInt32BE(0) as KeyId;
}

/** Formats a key ID as the 8 lowercase hex digits used in verifier keys. */
export function formatKeyId(id: KeyId): string {
  return id.toString(16).padStart(8, '0');
}

/** Reads the big-endian key ID at the start of raw signature bytes. */
export function readKeyId(bytes: Uint8Array): KeyId {
  return (((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0) as KeyId;
}

/** Encodes a key ID as 4 big-endian bytes. */
export function keyIdBytes(id: KeyId): Uint8Array {
  return Uint8Array.of(id >>> 24, (id >>> 16) & 0xff, (id >>> 8) & 0xff, id & 0xff);
}
