/**
 * SHA-256 (FIPS 180-4) in plain JavaScript, for the short messages of a Merkle tree.
 *
 * Why not only node:crypto: every native call crosses into C++ and allocates a Buffer,
 * which for a 65-byte node message costs more than the compression itself; this loop is
 * about 1.5× faster than `crypto.hash` for messages under a few hundred bytes (measured in
 * bench/suites/tlog.ts). Longer messages go to node:crypto. Tests compare both on random
 * inputs of every length up to several blocks.
 *
 * Not thread-shared: module-level scratch state is reused between calls, which is safe
 * because JavaScript runs one call at a time and nothing here awaits.
 */
import { hash as nativeHash } from 'node:crypto';

/** Messages longer than this go to node:crypto, where the call overhead no longer dominates. */
export const JS_SHA256_MAX_MESSAGE = 1024;

// prettier-ignore
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
// prettier-ignore
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const W = new Int32Array(64);
const H = new Int32Array(8);

/** Runs the compression function on the 64-byte block of `b` at `off`, updating H. */
function compress(b: Uint8Array, off: number): void {
  const w = W;
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    w[i] = (b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = H[0]!;
  let bb = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let f = H[5]!;
  let g = H[6]!;
  let h = H[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + s1 + ch + K[i]! + w[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & bb) ^ (a & c) ^ (bb & c);
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = bb;
    bb = a;
    a = (t1 + s0 + maj) | 0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + bb) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/** Writes H big-endian into `out` at `off`. */
function writeDigest(out: Uint8Array, off: number): void {
  for (let i = 0; i < 8; i++) {
    const v = H[i]!;
    const j = off + 4 * i;
    out[j] = v >>> 24;
    out[j + 1] = v >>> 16;
    out[j + 2] = v >>> 8;
    out[j + 3] = v;
  }
}

// Node messages are always 0x01 || 32 || 32 = 65 bytes = 520 bits, so their two padded
// blocks have fixed padding. Invariant: bytes 0 and 65..127 never change.
const nodeBlock = new Uint8Array(128);
nodeBlock[0] = 0x01;
nodeBlock[65] = 0x80;
nodeBlock[126] = 520 >>> 8;
nodeBlock[127] = 520 & 0xff;

/**
 * SHA-256(0x01 || left || right) written into `out` at `outOff`, reading the 32-byte
 * children at `left[leftOff]` and `right[rightOff]` (offsets avoid subarray allocations).
 */
export function sha256NodeInto(
  left: Uint8Array,
  leftOff: number,
  right: Uint8Array,
  rightOff: number,
  out: Uint8Array,
  outOff: number,
): void {
  const blk = nodeBlock;
  for (let i = 0; i < 32; i++) blk[1 + i] = left[leftOff + i]!;
  for (let i = 0; i < 32; i++) blk[33 + i] = right[rightOff + i]!;
  H.set(IV);
  compress(blk, 0);
  compress(blk, 64);
  writeDigest(out, outOff);
}

// Big enough for the longest message handled here plus its padding.
const scratch = new Uint8Array(JS_SHA256_MAX_MESSAGE + 72);

/** SHA-256(prefix || data) written into `out` at `outOff` (prefix is one byte). */
export function sha256PrefixedInto(prefix: number, data: Uint8Array, out: Uint8Array, outOff: number): void {
  const len = 1 + data.length;
  if (len > JS_SHA256_MAX_MESSAGE) {
    const msg = new Uint8Array(len);
    msg[0] = prefix;
    msg.set(data, 1);
    out.set(nativeHash('sha256', msg, 'buffer'), outOff);
    return;
  }
  // Padded length: message, 0x80, zeros, 8-byte bit length, rounded up to 64 bytes.
  const padded = (len + 9 + 63) & ~63;
  const s = scratch;
  s[0] = prefix;
  s.set(data, 1);
  s[len] = 0x80;
  s.fill(0, len + 1, padded - 4);
  const bits = len * 8; // < 2^32 because len ≤ JS_SHA256_MAX_MESSAGE
  s[padded - 4] = bits >>> 24;
  s[padded - 3] = bits >>> 16;
  s[padded - 2] = bits >>> 8;
  s[padded - 1] = bits;
  H.set(IV);
  for (let off = 0; off < padded; off += 64) compress(s, off);
  writeDigest(out, outOff);
}
