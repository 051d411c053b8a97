/**
 * HMAC-SHA256 (RFC 2104) from precomputed keyed midstates.
 *
 * HMAC(K, m) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)). Both padded keys fill exactly one SHA-256
 * block, so the state after compressing each can be computed once per key; an optional fixed
 * 64-byte prefix block (the token kind's domain separator) is absorbed into the inner state
 * as well. A MAC of a message up to 55 bytes then costs two compressions and no allocation.
 *
 * Not re-entrant across awaits: scratch buffers are per instance and nothing here awaits.
 * Instances hold key-derived state: MUST NOT be logged or serialised.
 */
import { createHash } from 'node:crypto';
import { CustosError } from '../errors.js';
import { sha256Compress } from './sha256-compress.js';

const BLOCK = 64;
const DIGEST = 32;
// prettier-ignore
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

/** A keyed HMAC-SHA256 with its inner and outer midstates precomputed. */
export class HmacSha256Midstate {
  readonly #inner: Int32Array;
  readonly #outer: Int32Array;
  /** Bytes already absorbed into #inner (64, or 128 with a prefix block). */
  readonly #innerPrefixLength: number;
  readonly #state = new Int32Array(8);
  readonly #words = new Int32Array(16);

  /** Keys longer than one block are hashed first, as RFC 2104 requires. `prefixBlock`, if given, is 64 bytes. */
  constructor(key: Uint8Array, prefixBlock?: Uint8Array) {
    if (prefixBlock !== undefined && prefixBlock.length !== BLOCK) {
      throw new CustosError('INVALID_ARGUMENT', 'HMAC prefix block must be 64 bytes');
    }
    const k = new Uint8Array(BLOCK);
    k.set(key.length > BLOCK ? createHash('sha256').update(key).digest() : key);
    const pad = new Uint8Array(BLOCK);
    for (let i = 0; i < BLOCK; i++) pad[i] = k[i]! ^ 0x36;
    this.#inner = IV.slice();
    this.#compressBytes(this.#inner, pad, 0);
    for (let i = 0; i < BLOCK; i++) pad[i] = k[i]! ^ 0x5c;
    this.#outer = IV.slice();
    this.#compressBytes(this.#outer, pad, 0);
    if (prefixBlock !== undefined) this.#compressBytes(this.#inner, prefixBlock, 0);
    this.#innerPrefixLength = prefixBlock === undefined ? BLOCK : 2 * BLOCK;
    // Wipe the padded key copies; the midstates are what we keep.
    k.fill(0);
    pad.fill(0);
    this.#words.fill(0);
  }

  /** Loads the 64 bytes of `bytes` at `off` as big-endian words and compresses them into `state`. */
  #compressBytes(state: Int32Array, bytes: Uint8Array, off: number): void {
    const w = this.#words;
    for (let i = 0; i < 16; i++, off += 4) {
      w[i] = (bytes[off]! << 24) | (bytes[off + 1]! << 16) | (bytes[off + 2]! << 8) | bytes[off + 3]!;
    }
    sha256Compress(state, w);
  }

  /**
   * Writes the first `outLength` (≤ 32) bytes of HMAC(key, prefix ‖ msg[0..msgLength)) to
   * `out` at `outOffset`.
   */
  macInto(msg: Uint8Array, msgLength: number, out: Uint8Array, outOffset: number, outLength: number): void {
    // Hot path (one call per token): plain loops instead of TypedArray set/fill, which cost
    // more than they save on 8–16 elements.
    const st = this.#state;
    const w = this.#words;
    const inner = this.#inner;
    for (let i = 0; i < 8; i++) st[i] = inner[i]!;
    let off = 0;
    for (; msgLength - off >= BLOCK; off += BLOCK) this.#compressBytes(st, msg, off);
    const rem = msgLength - off;
    const bits = (this.#innerPrefixLength + msgLength) * 8;
    loadPaddedTail(w, msg, off, rem);
    if (rem + 9 > BLOCK) {
      // The 0x80 byte fits in this block but the length does not: one more, all padding.
      sha256Compress(st, w);
      for (let i = 0; i < 14; i++) w[i] = 0;
    }
    w[14] = Math.floor(bits / 0x100000000);
    w[15] = bits | 0;
    sha256Compress(st, w);

    // Outer: H((K ⊕ opad) ‖ innerDigest) is one block — the 8 digest words, 0x80, zeros,
    // and the bit length 768 — fed as words straight from the inner state.
    for (let i = 0; i < 8; i++) w[i] = st[i]!;
    w[8] = 0x80000000 | 0;
    for (let i = 9; i < 15; i++) w[i] = 0;
    w[15] = (BLOCK + DIGEST) * 8;
    const outer = this.#outer;
    for (let i = 0; i < 8; i++) st[i] = outer[i]!;
    sha256Compress(st, w);

    for (let i = 0; i < outLength; i++) out[outOffset + i] = (st[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
  }
}

/**
 * Loads the last `rem` (< 64) message bytes at `off` as big-endian words, followed by the
 * 0x80 padding byte and zeros, into all 16 words of `w` (words 14–15 are overwritten by the
 * caller with the length when it fits).
 */
function loadPaddedTail(w: Int32Array, msg: Uint8Array, off: number, rem: number): void {
  const full = rem >> 2;
  for (let i = 0; i < full; i++) {
    const j = off + 4 * i;
    w[i] = (msg[j]! << 24) | (msg[j + 1]! << 16) | (msg[j + 2]! << 8) | msg[j + 3]!;
  }
  // The word holding the 0x80 byte: 0–3 message bytes, then 0x80, then zeros.
  let last = 0;
  const partial = rem & 3;
  for (let k = 0; k < partial; k++) last |= msg[off + 4 * full + k]! << (24 - 8 * k);
  w[full] = last | (0x80 << (24 - 8 * partial));
  for (let i = full + 1; i < 16; i++) w[i] = 0;
}
