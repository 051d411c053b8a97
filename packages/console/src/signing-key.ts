/**
 * Ed25519 signing keys of the console — the org signing key, the key-manager key and each
 * officer's signing key — behind a handle, so seed bytes only leave it to be split or
 * encrypted. Keys are 32-byte RFC 8032 seeds; public keys are raw 32 bytes.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { CustosError } from '@custos/core';

/** Length of an Ed25519 seed, public key and half-signature unit. */
export const ED25519_KEY_LENGTH = 32;
/** Length of an Ed25519 signature. */
export const ED25519_SIGNATURE_LENGTH = 64;

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): the fixed 16-byte prefix, then the seed.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** An Ed25519 private key. Prints as `[SigningKey]`; the seed leaves only through {@link SigningKey.exportSeed}. */
export class SigningKey {
  readonly #key: KeyObject;
  /** Raw 32-byte public key. */
  readonly publicKey: Uint8Array;

  private constructor(key: KeyObject) {
    this.#key = key;
    this.publicKey = publicKeyBytes(createPublicKey(key));
  }

  /** A fresh key from the platform CSPRNG. */
  static generate(): SigningKey {
    return new SigningKey(generateKeyPairSync('ed25519').privateKey);
  }

  /** Imports a 32-byte seed (for example, recovered from shares). The caller may wipe its copy. */
  static fromSeed(seed: Uint8Array): SigningKey {
    if (!(seed instanceof Uint8Array) || seed.length !== ED25519_KEY_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `an Ed25519 seed is ${ED25519_KEY_LENGTH} bytes`);
    }
    const der = Buffer.concat([PKCS8_ED25519_PREFIX, seed]);
    try {
      return new SigningKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
    } finally {
      der.fill(0);
    }
  }

  /** Signs `message` (pure Ed25519). */
  sign(message: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, message, this.#key));
  }

  /** The 32-byte seed, to split or encrypt it. MUST NOT be logged or written in the clear. */
  exportSeed(): Uint8Array {
    const der = this.#key.export({ format: 'der', type: 'pkcs8' });
    const seed = new Uint8Array(der.subarray(PKCS8_ED25519_PREFIX.length));
    der.fill(0);
    return seed;
  }

  /** Never print key material. */
  toString(): string {
    return '[SigningKey]';
  }

  /** Never serialise key material. */
  toJSON(): string {
    return '[SigningKey]';
  }
}

function publicKeyBytes(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new CustosError('INVALID_ARGUMENT', 'not an Ed25519 key');
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}

/** Verifies an Ed25519 signature with a raw 32-byte public key; false for any malformed input. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_KEY_LENGTH || signature.length !== ED25519_SIGNATURE_LENGTH) return false;
  try {
    const key = createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(publicKey).toString('base64url') },
      format: 'jwk',
    });
    return verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/**
 * The fingerprint of a public key as the server computes it and enrolment codes carry it:
 * unpadded base64url of SHA-256 over the raw key bytes.
 */
export function keyFingerprint(publicKey: Uint8Array): string {
  return createHash('sha256').update(publicKey).digest('base64url');
}
