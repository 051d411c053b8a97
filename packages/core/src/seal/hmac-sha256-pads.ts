/**
 * HMAC-SHA256 of short messages from precomputed pad midstates, in plain JavaScript.
 *
 * Per-record key derivation is one HMAC over 45 bytes. Through node:crypto that is two
 * native calls and three fresh Buffers per record, and on the seal/open hot path the
 * call overhead and garbage cost more than the AES-GCM it keys. With the SHA-256 states
 * after the ipad and opad blocks kept (FIPS 198-1 §3's standard optimisation), an HMAC of
 * a message of at most 55 bytes is exactly two compression-function calls, here with no
 * allocation. Output is byte-identical to HMAC-SHA256 (tested against createHmac).
 */

// FIPS 180-4 §4.2.2 constants and §5.3.3 initial hash value.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);
const BLOCK = 64;
/** Longest message {@link HmacSha256Pads.mac} takes: one final block holds it and the padding. */
export const MAX_SHORT_MAC_INPUT = 55;

/** Runs the SHA-256 compression function on `block` (64 bytes at `w`'s first 16 words), updating `state`. */
function compress(state: Int32Array, w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15]!;
    const b = w[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  let e = state[4]!;
  let f = state[5]!;
  let g = state[6]!;
  let h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** Loads 64 bytes big-endian into the first 16 words of `w`. */
function load(w: Int32Array, bytes: Uint8Array): void {
  for (let i = 0; i < 16; i++) {
    const j = i * 4;
    w[i] = (bytes[j]! << 24) | (bytes[j + 1]! << 16) | (bytes[j + 2]! << 8) | bytes[j + 3]!;
  }
}

/** A key's HMAC-SHA256 pad midstates. Holds key-derived secrets: {@link destroy} zeroes them. */
export class HmacSha256Pads {
  readonly #inner = new Int32Array(8);
  readonly #outer = new Int32Array(8);
  readonly #state = new Int32Array(8);
  readonly #w = new Int32Array(64);
  readonly #block = new Uint8Array(BLOCK);

  /** `key` must be at most 64 bytes (HMAC's longer-key hashing is not needed here). */
  constructor(key: Uint8Array) {
    if (key.length > BLOCK) throw new RangeError('HMAC key longer than one block');
    // MUST NOT log: key material
    const pad = new Uint8Array(BLOCK);
    for (const [state, byte] of [
      [this.#inner, 0x36],
      [this.#outer, 0x5c],
    ] as const) {
      pad.fill(byte);
      for (let i = 0; i < key.length; i++) pad[i]! ^= key[i]!;
      state.set(IV);
      load(this.#w, pad);
      compress(state, this.#w);
    }
    pad.fill(0);
  }

  /** Writes HMAC-SHA256(key, msg) (msg at most 55 bytes) into `out` at `at`. */
  mac(msg: Uint8Array, out: Uint8Array, at = 0): void {
    if (msg.length > MAX_SHORT_MAC_INPUT) throw new RangeError('message too long for a one-block HMAC');
    const blk = this.#block;
    const st = this.#state;
    // Inner: H(ipad-block || msg) — one final block: msg, 0x80, zeros, 64-bit bit length.
    blk.fill(0);
    blk.set(msg);
    blk[msg.length] = 0x80;
    const innerBits = (BLOCK + msg.length) * 8;
    blk[62] = innerBits >>> 8;
    blk[63] = innerBits & 0xff;
    st.set(this.#inner);
    load(this.#w, blk);
    compress(st, this.#w);
    // Outer: H(opad-block || inner digest) — digest, 0x80, zeros, bit length 768.
    blk.fill(0);
    for (let i = 0; i < 8; i++) {
      const v = st[i]!;
      blk[i * 4] = v >>> 24;
      blk[i * 4 + 1] = v >>> 16;
      blk[i * 4 + 2] = v >>> 8;
      blk[i * 4 + 3] = v;
    }
    blk[32] = 0x80;
    blk[62] = ((BLOCK + 32) * 8) >>> 8;
    blk[63] = ((BLOCK + 32) * 8) & 0xff;
    st.set(this.#outer);
    load(this.#w, blk);
    compress(st, this.#w);
    for (let i = 0; i < 8; i++) {
      const v = st[i]!;
      out[at + i * 4] = v >>> 24;
      out[at + i * 4 + 1] = v >>> 16;
      out[at + i * 4 + 2] = v >>> 8;
      out[at + i * 4 + 3] = v;
    }
    blk.fill(0);
    st.fill(0);
    this.#w.fill(0);
  }

  /** Zeroes the midstates. */
  destroy(): void {
    this.#inner.fill(0);
    this.#outer.fill(0);
  }
}
