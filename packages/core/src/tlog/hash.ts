/**
 * RFC 9162 §2.1.1 hashing: a leaf is SHA-256(0x00 || data), an interior node is
 * SHA-256(0x01 || left || right), and the empty tree's root is SHA-256("").
 *
 * These run once per leaf and once per interior node on every append, and 24 times per
 * inclusion check at 2^24 leaves, so they avoid per-call allocation beyond the digest.
 */
import { hash as oneShotHash } from 'node:crypto';

/** Bytes in every tree hash (SHA-256). */
export const HASH_SIZE = 32;

/** Domain-separation prefix of leaf hashes (RFC 9162 §2.1.1). */
export const LEAF_PREFIX = 0x00;

/** Domain-separation prefix of interior node hashes (RFC 9162 §2.1.1). */
export const NODE_PREFIX = 0x01;

// One scratch buffer for node hashing: JS is single-threaded and the digest is copied out
// by crypto.hash, so reuse is safe. Invariant: byte 0 is always NODE_PREFIX.
const nodeScratch = new Uint8Array(1 + 2 * HASH_SIZE);
nodeScratch[0] = NODE_PREFIX;

/** SHA-256 of `data` as a fresh Uint8Array. */
export function sha256(data: Uint8Array): Uint8Array {
  return oneShotHash('sha256', data, 'buffer');
}

/** The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** RFC 9162 leaf hash: SHA-256(0x00 || data). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + data.length);
  buf[0] = LEAF_PREFIX;
  buf.set(data, 1);
  return oneShotHash('sha256', buf, 'buffer');
}

/** RFC 9162 interior node hash: SHA-256(0x01 || left || right); both children are 32 bytes. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return oneShotHash('sha256', nodeScratch, 'buffer');
}

/** True when `a` and `b` hold the same bytes (tree hashes are public, so no constant time). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
