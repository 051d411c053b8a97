import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../errors.js';
import { bitLength, isPowerOfTwo, parseCount, popCount, splitPoint } from './tree-math.js';

describe('tree arithmetic stays exact up to 2^53 - 1', () => {
  it('popCount, bitLength and isPowerOfTwo agree with BigInt', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
        const b = BigInt(n);
        expect(popCount(n)).toBe([...b.toString(2)].filter((c) => c === '1').length);
        expect(bitLength(n)).toBe(n === 0 ? 0 : b.toString(2).length);
        expect(isPowerOfTwo(n)).toBe(n > 0 && (b & (b - 1n)) === 0n);
      }),
    );
    expect(popCount(Number.MAX_SAFE_INTEGER)).toBe(53);
    expect(bitLength(2 ** 52)).toBe(53);
    expect(isPowerOfTwo(2 ** 52)).toBe(true);
    expect(isPowerOfTwo(2 ** 52 + 1)).toBe(false);
  });
  it('splitPoint is the largest power of two below n', () => {
    expect([2, 3, 4, 5, 8, 9].map(splitPoint)).toEqual([1, 2, 2, 4, 4, 8]);
    expect(splitPoint(Number.MAX_SAFE_INTEGER)).toBe(2 ** 52);
  });
  it('parseCount accepts canonical decimals below 2^53 and rejects the rest clearly', () => {
    expect(parseCount('0', 'size', 'MALFORMED_CHECKPOINT')).toBe(0);
    expect(parseCount('9007199254740991', 'size', 'MALFORMED_CHECKPOINT')).toBe(Number.MAX_SAFE_INTEGER);
    for (const bad of [
      '',
      '01',
      '-1',
      '+1',
      '1.0',
      '1e3',
      ' 1',
      '9007199254740992',
      '18446744073709551615',
    ]) {
      let err: unknown;
      try {
        parseCount(bad, 'size', 'MALFORMED_CHECKPOINT');
      } catch (e) {
        err = e;
      }
      expect(isCustosError(err, 'MALFORMED_CHECKPOINT')).toBe(true);
    }
    expect(() => parseCount('18446744073709551615', 'size', 'MALFORMED_CHECKPOINT')).toThrow(/2\^53 - 1/);
  });
});
