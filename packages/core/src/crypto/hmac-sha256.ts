/**
 * HMAC-SHA256 (RFC 2104, FIPS 198-1) from precomputed keyed midstates, on sha256.ts.
 *
 * HMAC(K, m) = H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)). Both padded keys fill exactly one SHA-256
 * block, so the state after compressing each is computed once per key (FIPS 198-1 §3's
 * standard optimisation); an optional fixed 64-byte prefix block (a blind-token kind's
 * domain separator) is absorbed into the inner state as well. A MAC of a message of up to
 * 55 bytes then costs two compressions and no allocation. Serves both blind tokens
 * (blind-index/index-key.ts) and per-record key derivation (seal/record-cipher.ts); why
 * this is not node:crypto or @noble/hashes is measured in sha256.ts's header.
 *
 * Side channels: the only branches are on the message length (public or fixed per call
 * site) and the key length (fixed per deployment); key bytes never index a table.
 *
 * Not re-entrant across awaits: scratch is per instance and nothing here awaits.
 * Instances hold key-derived state: MUST NOT be logged or serialised.
 */
import { CustosError } from '../errors.js';
import {
  SHA256_BLOCK_BYTES,
  SHA256_DIGEST_BYTES,
  sha256Compress,
  sha256Finish,
  sha256Init,
  sha256LoadBlock,
  sha256WriteDigest,
} from './sha256.js';

const IPAD = 0x36;
const OPAD = 0x5c;
/** Bit length of the outer message: the opad block and the inner digest. */
const OUTER_BITS = (SHA256_BLOCK_BYTES + SHA256_DIGEST_BYTES) * 8;

/** A keyed HMAC-SHA256 with its inner and outer midstates precomputed. */
export class HmacSha256 {
  readonly #inner = new Int32Array(8);
  readonly #outer = new Int32Array(8);
  /** Bytes already absorbed into #inner (64, or 128 with a prefix block). */
  readonly #innerPrefixLength: number;
  readonly #state = new Int32Array(8);
  readonly #words = new Int32Array(16);
  #destroyed = false;

  /**
   * Keys longer than one block are hashed first, as RFC 2104 requires. `prefixBlock`, if
   * given, is 64 bytes that every MAC input implicitly starts with. The caller may wipe
   * `key` afterwards: only the midstates are kept.
   */
  constructor(key: Uint8Array, prefixBlock?: Uint8Array) {
    if (prefixBlock !== undefined && prefixBlock.length !== SHA256_BLOCK_BYTES) {
      throw new CustosError('INVALID_ARGUMENT', 'HMAC prefix block must be 64 bytes');
    }
    // MUST NOT log: k and pad hold key material; both are wiped below.
    const k = new Uint8Array(SHA256_BLOCK_BYTES);
    if (key.length > SHA256_BLOCK_BYTES) {
      // Hashed in this instance's scratch (wiped below), not sha256Into's shared buffers.
      sha256Init(this.#state);
      sha256Finish(this.#state, this.#words, 0, key, 0, key.length);
      sha256WriteDigest(this.#state, k, 0, SHA256_DIGEST_BYTES);
    } else {
      k.set(key);
    }
    const pad = new Uint8Array(SHA256_BLOCK_BYTES);
    for (let i = 0; i < SHA256_BLOCK_BYTES; i++) pad[i] = k[i]! ^ IPAD;
    this.#absorbBlock(this.#inner, pad);
    for (let i = 0; i < SHA256_BLOCK_BYTES; i++) pad[i] = k[i]! ^ OPAD;
    this.#absorbBlock(this.#outer, pad);
    if (prefixBlock !== undefined) {
      sha256LoadBlock(this.#words, prefixBlock, 0);
      sha256Compress(this.#inner, this.#words);
    }
    this.#innerPrefixLength = prefixBlock === undefined ? SHA256_BLOCK_BYTES : 2 * SHA256_BLOCK_BYTES;
    k.fill(0);
    pad.fill(0);
    this.#state.fill(0);
    this.#words.fill(0);
  }

  /** Sets `state` to SHA-256's state after compressing the one block `bytes`. */
  #absorbBlock(state: Int32Array, bytes: Uint8Array): void {
    sha256Init(state);
    sha256LoadBlock(this.#words, bytes, 0);
    sha256Compress(state, this.#words);
  }

  /**
   * Writes the first `outLength` (1..32) bytes of HMAC(key, prefix ‖ msg[0..msgLength)) to
   * `out` at `outOffset`. MUST NOT log the output when it is a key (seal's record keys).
   */
  macInto(msg: Uint8Array, msgLength: number, out: Uint8Array, outOffset: number, outLength: number): void {
    if (this.#destroyed) throw new CustosError('INVALID_ARGUMENT', 'HMAC key was destroyed');
    if (
      !(msgLength >= 0 && msgLength <= msg.length) ||
      !(outLength >= 1 && outLength <= SHA256_DIGEST_BYTES) ||
      !(outOffset >= 0 && outOffset + outLength <= out.length)
    ) {
      throw new CustosError('INVALID_ARGUMENT', 'HMAC message or output range out of bounds');
    }
    // Hot path (one call per token or record): plain loops instead of TypedArray set/fill,
    // which cost more than they save on 8–16 elements.
    const st = this.#state;
    const w = this.#words;
    const inner = this.#inner;
    for (let i = 0; i < 8; i++) st[i] = inner[i]!;
    sha256Finish(st, w, this.#innerPrefixLength, msg, 0, msgLength);

    // Outer: H((K ⊕ opad) ‖ innerDigest) is one block — the 8 digest words, 0x80, zeros and
    // the bit length — fed as words straight from the inner state, with no byte round trip.
    for (let i = 0; i < 8; i++) w[i] = st[i]!;
    w[8] = 0x80000000 | 0;
    for (let i = 9; i < 15; i++) w[i] = 0;
    w[15] = OUTER_BITS;
    const outer = this.#outer;
    for (let i = 0; i < 8; i++) st[i] = outer[i]!;
    sha256Compress(st, w);

    for (let i = 0; i < outLength; i++) out[outOffset + i] = st[i >> 2]! >>> (24 - 8 * (i & 3));
    // The scratch now holds the inner digest (w[0..7]; w[8..15] are public padding) and the
    // MAC (st), which for seal is a record key: wipe both.
    for (let i = 0; i < 8; i++) w[i] = 0;
    for (let i = 0; i < 8; i++) st[i] = 0;
  }

  /** Zeroes the midstates and scratch; every later {@link macInto} throws. */
  destroy(): void {
    this.#inner.fill(0);
    this.#outer.fill(0);
    this.#state.fill(0);
    this.#words.fill(0);
    this.#destroyed = true;
  }

  /** MUST NOT reveal key material: serialises as a placeholder. */
  toJSON(): string {
    return '[HmacSha256]';
  }

  /** Placeholder for util.inspect / console.log, never the midstates. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[HmacSha256]';
  }
}
