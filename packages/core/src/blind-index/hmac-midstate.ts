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
  readonly #block = new Uint8Array(2 * BLOCK);

  /** Keys longer than one block are hashed first, as RFC 2104 requires. `prefixBlock`, if given, is 64 bytes. */
  constructor(key: Uint8Array, prefixBlock?: Uint8Array) {
    const k = new Uint8Array(BLOCK);
    k.set(key.length > BLOCK ? createHash('sha256').update(key).digest() : key);
    const pad = new Uint8Array(BLOCK);
    for (let i = 0; i < BLOCK; i++) pad[i] = k[i]! ^ 0x36;
    this.#inner = IV.slice();
    sha256Compress(this.#inner, pad, 0);
    for (let i = 0; i < BLOCK; i++) pad[i] = k[i]! ^ 0x5c;
    this.#outer = IV.slice();
    sha256Compress(this.#outer, pad, 0);
    this.#innerPrefixLength = BLOCK;
    if (prefixBlock !== undefined) {
      if (prefixBlock.length !== BLOCK) throw new RangeError('prefix block must be 64 bytes');
      sha256Compress(this.#inner, prefixBlock, 0);
      this.#innerPrefixLength = 2 * BLOCK;
    }
    // Wipe the padded key copies; the midstates are what we keep.
    k.fill(0);
    pad.fill(0);
  }

  /**
   * Writes the first `outLength` (≤ 32) bytes of HMAC(key, prefix ‖ msg[0..msgLength)) to
   * `out` at `outOffset`.
   */
  macInto(msg: Uint8Array, msgLength: number, out: Uint8Array, outOffset: number, outLength: number): void {
    const st = this.#state;
    const blk = this.#block;
    st.set(this.#inner);
    let off = 0;
    for (; msgLength - off >= BLOCK; off += BLOCK) sha256Compress(st, msg, off);
    const rem = msgLength - off;
    for (let i = 0; i < rem; i++) blk[i] = msg[off + i]!;
    blk[rem] = 0x80;
    const end = rem + 9 <= BLOCK ? BLOCK : 2 * BLOCK;
    for (let i = rem + 1; i < end - 8; i++) blk[i] = 0;
    writeBitLength(blk, end, this.#innerPrefixLength + msgLength);
    sha256Compress(st, blk, 0);
    if (end > BLOCK) sha256Compress(st, blk, BLOCK);

    // Outer: H((K ⊕ opad) ‖ innerDigest) — one block: 32 digest bytes, 0x80, zeros, length 768 bits.
    for (let i = 0; i < 8; i++) writeWord(blk, 4 * i, st[i]!);
    blk[DIGEST] = 0x80;
    for (let i = DIGEST + 1; i < BLOCK - 8; i++) blk[i] = 0;
    writeBitLength(blk, BLOCK, BLOCK + DIGEST);
    st.set(this.#outer);
    sha256Compress(st, blk, 0);

    for (let i = 0; i < outLength; i++) out[outOffset + i] = (st[i >> 2]! >>> (24 - 8 * (i & 3))) & 0xff;
  }
}

function writeWord(b: Uint8Array, at: number, w: number): void {
  b[at] = w >>> 24;
  b[at + 1] = w >>> 16;
  b[at + 2] = w >>> 8;
  b[at + 3] = w;
}

/** Writes the 64-bit big-endian bit length of a `byteLength`-byte message in the last 8 bytes before `end`. */
function writeBitLength(b: Uint8Array, end: number, byteLength: number): void {
  // byteLength < 2^53 / 8 in practice; split so the shifts stay within 32 bits.
  writeWord(b, end - 8, Math.floor(byteLength / 0x20000000));
  writeWord(b, end - 4, (byteLength * 8) >>> 0);
}
