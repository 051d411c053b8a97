/**
 * RFC 9162 §2.1.1 hashing: a leaf is SHA-256(0x00 || data), an interior node is
 * SHA-256(0x01 || left || right), and the empty tree's root is SHA-256("").
 *
 * These run once per leaf and once per interior node on every append, and 24 times per
 * inclusion check at 2^24 leaves, so they use the short-message SHA-256 of crypto/sha256.ts.
 */
import { hash as nativeHash } from 'node:crypto';
import { sha256NodeInto, sha256PrefixedInto } from '../crypto/sha256.js';

/** Bytes in every tree hash (SHA-256). */
export const HASH_SIZE = 32;

/** Domain-separation prefix of leaf hashes (RFC 9162 §2.1.1). */
export const LEAF_PREFIX = 0x00;

/** Domain-separation prefix of interior node hashes (RFC 9162 §2.1.1). */
export const NODE_PREFIX = 0x01;

/** The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1). Read-only: never write to it. */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(nativeHash('sha256', new Uint8Array(0), 'buffer'));

/** RFC 9162 leaf hash: SHA-256(0x00 || data). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HASH_SIZE);
  sha256PrefixedInto(LEAF_PREFIX, data, out, 0);
  return out;
}

/** Like {@link hashLeaf} but writes the hash into `out` at `offset` (no allocation). */
export function hashLeafInto(data: Uint8Array, out: Uint8Array, offset: number): void {
  sha256PrefixedInto(LEAF_PREFIX, data, out, offset);
}

/** RFC 9162 interior node hash: SHA-256(0x01 || left || right); both children are 32 bytes. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  const out = new Uint8Array(HASH_SIZE);
  sha256NodeInto(left, 0, right, 0, out, 0);
  return out;
}

/**
 * Like {@link hashChildren} but reads the children at offsets and writes the hash into
 * `out` at `outOffset`, so tree builders can work in flat buffers without allocating.
 * `out` may overlap either child (all input is read before the digest is written).
 */
export function hashChildrenAt(
  left: Uint8Array,
  leftOffset: number,
  right: Uint8Array,
  rightOffset: number,
  out: Uint8Array,
  outOffset: number,
): void {
  sha256NodeInto(left, leftOffset, right, rightOffset, out, outOffset);
}

/** True when `a` and `b` hold the same bytes (tree hashes are public, so no constant time). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
