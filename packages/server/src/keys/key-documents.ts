/**
 * The signed key documents of key distribution (docs/keys.md): the key-manager delegation
 * (signed by the org signing key at the key ceremony) and bucket-key documents (signed by
 * the key manager). Both are `CBOR [bstr payload, bstr signature]` with a deterministic-CBOR
 * payload, and the signature covers a domain string, 0x00, then the payload bytes.
 */
import { createPublicKey, verify as edVerify, type KeyObject } from 'node:crypto';
import { decodeStrictCbor } from '@custos/core';

/** A key document that does not parse or verify; `message` names what is wrong. */
export class KeyDocumentError extends Error {
  override readonly name = 'KeyDocumentError';
}

/** An Ed25519 public KeyObject from 32 raw bytes. */
export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new KeyDocumentError('an Ed25519 public key is 32 bytes');
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

/** The bytes a key document's signature covers: domain ‖ 0x00 ‖ payload. */
export function signedBytes(domain: string, payload: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(domain, 'ascii'), Buffer.of(0), payload]);
}

/** Splits `[payload, signature]` and verifies the signature with `signer`; returns the payload map. */
export function openSigned(
  what: string,
  bytes: Uint8Array,
  domain: string,
  signer: KeyObject,
): Record<string, unknown> {
  let outer: unknown;
  try {
    outer = decodeStrictCbor(bytes, what, 'MALFORMED_INPUT');
  } catch {
    throw new KeyDocumentError(`${what}: not deterministic CBOR`);
  }
  if (!Array.isArray(outer) || outer.length !== 2)
    throw new KeyDocumentError(`${what}: not [payload, signature]`);
  const [payload, sig] = outer as unknown[];
  if (!(payload instanceof Uint8Array) || !(sig instanceof Uint8Array) || sig.length !== 64) {
    throw new KeyDocumentError(`${what}: payload must be bytes and the signature 64 bytes`);
  }
  if (!edVerify(null, signedBytes(domain, payload), signer, sig)) {
    throw new KeyDocumentError(`${what}: signature does not verify`);
  }
  let map: unknown;
  try {
    map = decodeStrictCbor(payload, what, 'MALFORMED_INPUT');
  } catch {
    throw new KeyDocumentError(`${what}: payload is not deterministic CBOR`);
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map) || map instanceof Uint8Array) {
    throw new KeyDocumentError(`${what}: payload is not a map`);
  }
  return map as Record<string, unknown>;
}
