/**
 * Bucket keys: the X25519 key pairs that archive records are sealed to (one per retention
 * class and period). The public half travels in signed key material; the private half
 * exists only on officer workstations after a quorum unlock. Both live behind handles so
 * that raw key bytes are not passed around.
 */
import { CipherSuite, DhkemX25519HkdfSha256, HkdfSha256, Aes256Gcm } from '@hpke/core';
import type { webcrypto } from 'node:crypto';
import { CustosError } from '../errors.js';
import { BUCKET_KEY_LENGTH } from './seal-params.js';

/** The HPKE suite of format v1: base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM. */
export function archiveHpkeSuite(): CipherSuite {
  return new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
}

const SUITE = archiveHpkeSuite();

// @hpke/core types its keys with the DOM's CryptoKey, which this DOM-free build does not
// declare; these two narrow its results to Node's identical webcrypto types.
const asKey = (k: unknown): webcrypto.CryptoKey => k as webcrypto.CryptoKey;
const asPair = (k: unknown): webcrypto.CryptoKeyPair => k as webcrypto.CryptoKeyPair;

/** A bucket public key: what a device seals session keys to. */
export class BucketPublicKey {
  readonly #key: webcrypto.CryptoKey;
  readonly #raw: Uint8Array;

  private constructor(key: webcrypto.CryptoKey, raw: Uint8Array) {
    this.#key = key;
    this.#raw = raw;
  }

  /** Imports a raw 32-byte X25519 public key; throws INVALID_ARGUMENT on any other length. */
  static async fromBytes(raw: Uint8Array): Promise<BucketPublicKey> {
    if (!(raw instanceof Uint8Array) || raw.length !== BUCKET_KEY_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `a bucket public key is ${BUCKET_KEY_LENGTH} bytes`);
    }
    const copy = Uint8Array.from(raw);
    try {
      return new BucketPublicKey(asKey(await SUITE.kem.deserializePublicKey(copy)), copy);
    } catch (e) {
      throw new CustosError('INVALID_ARGUMENT', 'bucket public key rejected by X25519', { cause: e });
    }
  }

  /** The raw 32-byte public key (a copy). */
  toBytes(): Uint8Array {
    return Uint8Array.from(this.#raw);
  }

  /** The WebCrypto handle, for HPKE inside this folder only. */
  get cryptoKey(): webcrypto.CryptoKey {
    return this.#key;
  }
}

/** A bucket private key: opens wrapped session keys. Never serialised except to re-wrap it. */
export class BucketPrivateKey {
  readonly #key: webcrypto.CryptoKey;

  private constructor(key: webcrypto.CryptoKey) {
    this.#key = key;
  }

  /** Imports a raw 32-byte X25519 private key. */
  static async fromBytes(raw: Uint8Array): Promise<BucketPrivateKey> {
    if (!(raw instanceof Uint8Array) || raw.length !== BUCKET_KEY_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `a bucket private key is ${BUCKET_KEY_LENGTH} bytes`);
    }
    try {
      // MUST NOT log: key material
      return new BucketPrivateKey(asKey(await SUITE.kem.deserializePrivateKey(Uint8Array.from(raw))));
    } catch (e) {
      throw new CustosError('INVALID_ARGUMENT', 'bucket private key rejected by X25519', { cause: e });
    }
  }

  /** Wraps an existing WebCrypto key (from generation or derivation). */
  static fromCryptoKey(key: webcrypto.CryptoKey): BucketPrivateKey {
    return new BucketPrivateKey(key);
  }

  /** The raw 32-byte private key, for wrapping under an officer or root key. MUST NOT log. */
  async exportBytes(): Promise<Uint8Array> {
    // MUST NOT log: key material
    return new Uint8Array(await SUITE.kem.serializePrivateKey(this.#key));
  }

  /** The WebCrypto handle, for HPKE inside this folder only. */
  get cryptoKey(): webcrypto.CryptoKey {
    return this.#key;
  }
}

/** A bucket key pair. */
export interface BucketKeyPair {
  readonly publicKey: BucketPublicKey;
  readonly privateKey: BucketPrivateKey;
}

async function toPair(pair: webcrypto.CryptoKeyPair): Promise<BucketKeyPair> {
  const raw = new Uint8Array(await SUITE.kem.serializePublicKey(pair.publicKey));
  return {
    publicKey: await BucketPublicKey.fromBytes(raw),
    privateKey: BucketPrivateKey.fromCryptoKey(pair.privateKey),
  };
}

/** Generates a fresh bucket key pair from the platform's CSPRNG. */
export async function generateBucketKeyPair(): Promise<BucketKeyPair> {
  return toPair(asPair(await SUITE.kem.generateKeyPair()));
}

/**
 * Derives a bucket key pair from input keying material with RFC 9180 DeriveKeyPair, so
 * that test vectors (and key ceremonies that derive from a root secret) are reproducible.
 */
export async function deriveBucketKeyPair(ikm: Uint8Array): Promise<BucketKeyPair> {
  if (!(ikm instanceof Uint8Array) || ikm.length < BUCKET_KEY_LENGTH) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `bucket key derivation needs at least ${BUCKET_KEY_LENGTH} bytes of ikm`,
    );
  }
  // MUST NOT log: key material
  return toPair(asPair(await SUITE.kem.deriveKeyPair(Uint8Array.from(ikm))));
}
