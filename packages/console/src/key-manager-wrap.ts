/**
 * The key-manager private key wrapped to one recipient after a rotation (docs/keys.md §5): the
 * Ed25519 seed HPKE-sealed (hpke-box.ts) to the root archive key or to an officer's key. The
 * AAD binds org, recipient and the new key's public half, so a wrap cannot be replayed for
 * another org, officer or key. Blob = enc (32 bytes) ‖ ciphertext.
 */
import { CustosError, type BucketPrivateKey, type BucketPublicKey } from '@custos/core';
import { hpkeOpen, hpkeSeal } from './hpke-box.js';
import { SigningKey } from './signing-key.js';

const INFO = 'custos-key-manager-wrap-v1';
const ENC_LENGTH = 32;

/** What a wrap is bound to. */
export interface KeyManagerWrapInfo {
  readonly org: string;
  /** `root` or the officer index as a decimal string (the server route's recipient). */
  readonly to: string;
  /** Raw Ed25519 public key of the wrapped key-manager key. */
  readonly publicKey: Uint8Array;
}

function aad(info: KeyManagerWrapInfo): Uint8Array {
  return Buffer.concat([
    Buffer.from(info.org, 'utf8'),
    Buffer.of(0),
    Buffer.from(info.to, 'utf8'),
    Buffer.of(0),
    Buffer.from(info.publicKey),
  ]);
}

/** Seals the key-manager key to `recipient`. */
export async function wrapKeyManagerKey(
  key: SigningKey,
  info: KeyManagerWrapInfo,
  recipient: BucketPublicKey,
): Promise<Uint8Array> {
  const seed = key.exportSeed();
  try {
    const box = await hpkeSeal(recipient, INFO, aad(info), seed);
    return Buffer.concat([box.enc, box.ct]);
  } finally {
    seed.fill(0);
  }
}

/** Opens a wrap and checks the key inside is `info.publicKey`; DECRYPTION_FAILED otherwise. */
export async function unwrapKeyManagerKey(
  blob: Uint8Array,
  recipient: BucketPrivateKey,
  info: KeyManagerWrapInfo,
): Promise<SigningKey> {
  if (blob.length <= ENC_LENGTH) throw new CustosError('DECRYPTION_FAILED', 'key-manager wrap: too short');
  const seed = await hpkeOpen(recipient, INFO, aad(info), {
    enc: blob.subarray(0, ENC_LENGTH),
    ct: blob.subarray(ENC_LENGTH),
  });
  try {
    const key = SigningKey.fromSeed(seed);
    if (Buffer.compare(Buffer.from(key.publicKey), Buffer.from(info.publicKey)) !== 0)
      throw new CustosError(
        'DECRYPTION_FAILED',
        'key-manager wrap: holds another key than the delegation names',
      );
    return key;
  } finally {
    seed.fill(0);
  }
}
