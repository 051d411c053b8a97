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

/** Loads the 64-byte block of `b` at `off` into W[0..15] as big-endian words. */
function loadBlock(b: Uint8Array, off: number): void {
  const w = W;
  for (let i = 0; i < 16; i++) {
    const j = off + 4 * i;
    w[i] = (b[j]! << 24) | (b[j + 1]! << 16) | (b[j + 2]! << 8) | b[j + 3]!;
  }
}

/**
 * Runs the compression function on the block already loaded in W[0..15], updating H.
 * Rounds are unrolled by eight with the working variables renamed instead of rotated,
 * and Ch/Maj use their cheaper equivalent forms; this is ~10% faster in V8.
 */
function compress(): void {
  const w = W;
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15]!;
    const y = w[i - 2]!;
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
  }
  let a = H[0]!;
  let b = H[1]!;
  let c = H[2]!;
  let d = H[3]!;
  let e = H[4]!;
  let f = H[5]!;
  let g = H[6]!;
  let h = H[7]!;
  let t: number;
  for (let i = 0; i < 64; i += 8) {
    t =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        (g ^ (e & (f ^ g))) +
        K[i]! +
        w[i]!) |
      0;
    d = (d + t) | 0;
    h =
      (t +
        (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
        ((a & b) | (c & (a | b)))) |
      0;
    t =
      (g +
        (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) +
        (f ^ (d & (e ^ f))) +
        K[i + 1]! +
        w[i + 1]!) |
      0;
    c = (c + t) | 0;
    g =
      (t +
        (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) +
        ((h & a) | (b & (h | a)))) |
      0;
    t =
      (f +
        (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) +
        (e ^ (c & (d ^ e))) +
        K[i + 2]! +
        w[i + 2]!) |
      0;
    b = (b + t) | 0;
    f =
      (t +
        (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) +
        ((g & h) | (a & (g | h)))) |
      0;
    t =
      (e +
        (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) +
        (d ^ (b & (c ^ d))) +
        K[i + 3]! +
        w[i + 3]!) |
      0;
    a = (a + t) | 0;
    e =
      (t +
        (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) +
        ((f & g) | (h & (f | g)))) |
      0;
    t =
      (d +
        (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) +
        (c ^ (a & (b ^ c))) +
        K[i + 4]! +
        w[i + 4]!) |
      0;
    h = (h + t) | 0;
    d =
      (t +
        (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) +
        ((e & f) | (g & (e | f)))) |
      0;
    t =
      (c +
        (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) +
        (b ^ (h & (a ^ b))) +
        K[i + 5]! +
        w[i + 5]!) |
      0;
    g = (g + t) | 0;
    c =
      (t +
        (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) +
        ((d & e) | (f & (d | e)))) |
      0;
    t =
      (b +
        (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) +
        (a ^ (g & (h ^ a))) +
        K[i + 6]! +
        w[i + 6]!) |
      0;
    f = (f + t) | 0;
    b =
      (t +
        (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) +
        ((c & d) | (e & (c | d)))) |
      0;
    t =
      (a +
        (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) +
        (h ^ (f & (g ^ h))) +
        K[i + 7]! +
        w[i + 7]!) |
      0;
    e = (e + t) | 0;
    a =
      (t +
        (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) +
        ((b & c) | (d & (b | c)))) |
      0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

/** Sets H to the SHA-256 initial value (explicit stores: cheaper than a builtin call here). */
function resetState(): void {
  H[0] = IV[0]!;
  H[1] = IV[1]!;
  H[2] = IV[2]!;
  H[3] = IV[3]!;
  H[4] = IV[4]!;
  H[5] = IV[5]!;
  H[6] = IV[6]!;
  H[7] = IV[7]!;
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

/** Big-endian word of `x` at byte `i`, with the byte before it as the top byte: x[i-1..i+2]. */
function shiftedWord(prev: number, x: Uint8Array, i: number): number {
  return (prev << 24) | (x[i]! << 16) | (x[i + 1]! << 8) | x[i + 2]!;
}

/**
 * SHA-256(0x01 || left || right) written into `out` at `outOff`, reading the 32-byte
 * children at `left[leftOff]` and `right[rightOff]` (offsets avoid subarray allocations).
 * The 65-byte message fills block 1 and one byte of block 2, whose padding is fixed
 * (0x80, zeros, bit length 520), so both blocks are loaded straight into W without a copy.
 * Every input byte is read before `out` is written, so `out` may alias either child.
 */
export function sha256NodeInto(
  left: Uint8Array,
  leftOff: number,
  right: Uint8Array,
  rightOff: number,
  out: Uint8Array,
  outOff: number,
): void {
  const w = W;
  // Block 1: bytes 0x01, left[0..31], right[0..30]; every word straddles by one byte.
  w[0] = shiftedWord(0x01, left, leftOff);
  for (let k = 1; k < 8; k++) w[k] = shiftedWord(left[leftOff + 4 * k - 1]!, left, leftOff + 4 * k);
  w[8] = shiftedWord(left[leftOff + 31]!, right, rightOff);
  for (let k = 9; k < 16; k++)
    w[k] = shiftedWord(right[rightOff + 4 * k - 33]!, right, rightOff + 4 * k - 32);
  const lastByte = right[rightOff + 31]!;
  resetState();
  compress();
  // Block 2: the last byte of right, then the padding of a 520-bit message.
  w[0] = (lastByte << 24) | (0x80 << 16);
  for (let k = 1; k < 15; k++) w[k] = 0;
  w[15] = 520;
  compress();
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
  resetState();
  for (let off = 0; off < padded; off += 64) {
    loadBlock(s, off);
    compress();
  }
  writeDigest(out, outOff);
}
