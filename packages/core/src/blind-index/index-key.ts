/**
 * Blind-index keys: one 32-byte key per bucket, held behind a handle so the bytes are
 * not passed around, logged or serialised by accident. The handle keeps the HMAC
 * midstates for every token kind, precomputed once (crypto/hmac-sha256.ts).
 *
 * Key hierarchy: the console holds the org index secret and derives each bucket's key
 * with HKDF-SHA256 ({@link deriveBucketIndexKey}); a device receives only the keys of its
 * own buckets. The server never sees either (architecture.md §7).
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { CustosError } from '../errors.js';
import { HmacSha256 } from '../crypto/hmac-sha256.js';

/** Length of an index key and of the org index secret, in bytes. */
export const BLIND_INDEX_KEY_LENGTH = 32;

/** What a token stands for; part of the MAC input, so tokens of different kinds never collide. */
export type BlindTokenKind = 'term' | 'participant' | 'conversation' | 'day' | 'month';

/** Every token kind, in a fixed order. */
export const BLIND_TOKEN_KINDS: readonly BlindTokenKind[] = [
  'term',
  'participant',
  'conversation',
  'day',
  'month',
];

/** Domain-separation prefix of every MAC input; the kind name follows, then zero padding to 64 bytes. */
export const BLIND_TOKEN_DOMAIN = 'custos/blind-index/v1/';

/** HKDF salt for bucket-key derivation. */
const BUCKET_KEY_SALT = 'custos/blind-index/v1/bucket-key';

const BLOCK = 64;
const MAX_BUCKET_ID_LENGTH = 256;

/** The 64-byte block that starts every MAC input of `kind`: ASCII domain ‖ kind, zero padded. */
export function kindPrefixBlock(kind: BlindTokenKind): Uint8Array {
  const block = new Uint8Array(BLOCK);
  block.set(new TextEncoder().encode(BLIND_TOKEN_DOMAIN + kind));
  return block;
}

const midstates = new WeakMap<BlindIndexKey, ReadonlyMap<BlindTokenKind, HmacSha256>>();

/** A bucket's blind-index key. Opaque: no accessor returns the bytes. */
export class BlindIndexKey {
  private constructor(bytes: Uint8Array) {
    const byKind = new Map<BlindTokenKind, HmacSha256>();
    for (const kind of BLIND_TOKEN_KINDS) byKind.set(kind, new HmacSha256(bytes, kindPrefixBlock(kind)));
    midstates.set(this, byKind);
  }

  /** Wraps 32 key bytes (for example, unwrapped from the bucket's key material). The caller may wipe its copy afterwards. */
  static fromBytes(bytes: Uint8Array): BlindIndexKey {
    if (!(bytes instanceof Uint8Array) || bytes.length !== BLIND_INDEX_KEY_LENGTH) {
      throw new CustosError('INVALID_ARGUMENT', `blind index key must be ${BLIND_INDEX_KEY_LENGTH} bytes`);
    }
    return new BlindIndexKey(bytes);
  }

  /** MUST NOT reveal key material: the handle prints as a placeholder. */
  toJSON(): string {
    return '[BlindIndexKey]';
  }

  /** Placeholder for string conversion, never the key. */
  toString(): string {
    return '[BlindIndexKey]';
  }

  /** Placeholder for util.inspect / console.log, never the key. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[BlindIndexKey]';
  }
}

/** The HMAC midstate of `key` for `kind` (module-internal; not exported from the package). */
export function tokenMac(key: BlindIndexKey, kind: BlindTokenKind): HmacSha256 {
  const mac = midstates.get(key)?.get(kind);
  if (mac === undefined) throw new CustosError('INVALID_ARGUMENT', 'not a BlindIndexKey');
  return mac;
}

/** A fresh random 32-byte org index secret (kept by the console and split like other org secrets). */
export function generateIndexSecret(): Uint8Array {
  return new Uint8Array(randomBytes(BLIND_INDEX_KEY_LENGTH));
}

/**
 * Derives a bucket's raw index key bytes: HKDF-SHA256(ikm = org index secret,
 * salt = "custos/blind-index/v1/bucket-key", info = UTF-8(bucketId), L = 32).
 * Secret: only for wrapping to the bucket's devices; MUST NOT be logged or stored in clear.
 */
export function deriveBucketIndexKeyBytes(orgIndexSecret: Uint8Array, bucketId: string): Uint8Array {
  if (!(orgIndexSecret instanceof Uint8Array) || orgIndexSecret.length !== BLIND_INDEX_KEY_LENGTH) {
    throw new CustosError('INVALID_ARGUMENT', `org index secret must be ${BLIND_INDEX_KEY_LENGTH} bytes`);
  }
  if (typeof bucketId !== 'string' || bucketId.length === 0 || bucketId.length > MAX_BUCKET_ID_LENGTH) {
    throw new CustosError('INVALID_ARGUMENT', `bucket id must be 1..${MAX_BUCKET_ID_LENGTH} characters`);
  }
  const info = new TextEncoder().encode(bucketId);
  return new Uint8Array(hkdfSync('sha256', orgIndexSecret, BUCKET_KEY_SALT, info, BLIND_INDEX_KEY_LENGTH));
}

/** A bucket's index key handle, derived as in {@link deriveBucketIndexKeyBytes}. */
export function deriveBucketIndexKey(orgIndexSecret: Uint8Array, bucketId: string): BlindIndexKey {
  const okm = deriveBucketIndexKeyBytes(orgIndexSecret, bucketId);
  try {
    return BlindIndexKey.fromBytes(okm);
  } finally {
    okm.fill(0);
  }
}
