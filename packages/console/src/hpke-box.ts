/**
 * HPKE base mode with the archive suite (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * AES-256-GCM; core/seal), for sealing small secrets — bucket private keys, ceremony
 * secrets in staging — to an X25519 key: the root archive key or an officer's key.
 */
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { archiveHpkeSuite, BucketPublicKey, CustosError, type BucketPrivateKey } from '@custos/core';

const SUITE = archiveHpkeSuite();

/** HPKE output: the encapsulated key and the ciphertext with its tag. */
export interface HpkeBox {
  readonly enc: Uint8Array;
  readonly ct: Uint8Array;
}

/** Seals `plaintext` to `recipient` with `info` and `aad` bound in. */
export async function hpkeSeal(
  recipient: BucketPublicKey,
  info: string,
  aad: Uint8Array,
  plaintext: Uint8Array,
): Promise<HpkeBox> {
  // MUST NOT log: plaintext is key material.
  const sealed = await SUITE.seal(
    { recipientPublicKey: recipient.cryptoKey, info: new TextEncoder().encode(info) },
    plaintext,
    aad,
  );
  return { enc: new Uint8Array(sealed.enc), ct: new Uint8Array(sealed.ct) };
}

/** Opens an HPKE box; DECRYPTION_FAILED when the key, info, aad or bytes do not match. */
export async function hpkeOpen(
  recipient: BucketPrivateKey,
  info: string,
  aad: Uint8Array,
  box: HpkeBox,
): Promise<Uint8Array> {
  try {
    const pt = await SUITE.open(
      {
        recipientKey: recipient.cryptoKey,
        enc: Uint8Array.from(box.enc),
        info: new TextEncoder().encode(info),
      },
      Uint8Array.from(box.ct),
      aad,
    );
    return new Uint8Array(pt);
  } catch (e) {
    throw new CustosError('DECRYPTION_FAILED', 'sealed key material does not open with this key', {
      cause: e,
    });
  }
}

// PKCS#8 wrapping of a raw X25519 private key (RFC 8410): the fixed 16-byte prefix, then the key.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/** The X25519 public key of a raw 32-byte private key (RFC 7748 scalar multiplication). */
export async function x25519PublicKeyOf(rawPrivate: Uint8Array): Promise<BucketPublicKey> {
  if (rawPrivate.length !== 32)
    throw new CustosError('INVALID_ARGUMENT', 'an X25519 private key is 32 bytes');
  const der = Buffer.concat([PKCS8_X25519_PREFIX, rawPrivate]);
  try {
    const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({
      format: 'jwk',
    });
    return await BucketPublicKey.fromBytes(new Uint8Array(Buffer.from(String(jwk.x), 'base64url')));
  } finally {
    der.fill(0);
  }
}
