/**
 * Integer helpers for tree sizes and indexes. Sizes are JS numbers, valid up to
 * Number.MAX_SAFE_INTEGER (2^53 - 1): a log never grows past that, and parsers of uint64
 * text reject larger values. Bitwise operators truncate to 32 bits, so everything here uses
 * arithmetic that stays exact for every safe integer.
 */
import { CustosError } from '../errors.js';
import type { CustosErrorCode } from '../errors.js';

/** The largest tree size (and one past the largest leaf index) this implementation accepts. */
export const MAX_TREE_SIZE = Number.MAX_SAFE_INTEGER;

/** Throws `code` unless `n` is a non-negative safe integer. */
export function assertCount(n: number, what: string, code: CustosErrorCode): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new CustosError(code, `${what} must be a non-negative integer below 2^53, got ${String(n)}`);
  }
}

/** Number of bits needed to write `n` (0 for 0). */
export function bitLength(n: number): number {
  let bits = 0;
  for (let m = n; m >= 1; m = Math.floor(m / 2)) bits++;
  return bits;
}

/** Number of set bits in `n`, exact for every safe integer. */
export function popCount(n: number): number {
  return popCount32(n >>> 0) + popCount32(Math.floor(n / 2 ** 32) >>> 0);
}

function popCount32(v: number): number {
  let x = v - ((v >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** The largest power of two strictly less than `n` (RFC 6962's split point k), for n ≥ 2. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** True when `n` is a power of two (n ≥ 1). */
export function isPowerOfTwo(n: number): boolean {
  return n >= 1 && 2 ** (bitLength(n) - 1) === n;
}

/** Parses decimal text of a uint64 as a safe integer, rejecting leading zeros and values ≥ 2^53. */
export function parseCount(text: string, what: string, code: CustosErrorCode): number {
  if (!/^(0|[1-9][0-9]*)$/.test(text)) {
    throw new CustosError(code, `${what} must be a decimal integer without leading zeros`);
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) {
    throw new CustosError(code, `${what} exceeds 2^53 - 1, the largest log size Custos supports`);
  }
  return n;
}
