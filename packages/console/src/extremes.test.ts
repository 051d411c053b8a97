import { describe, expect, it } from 'vitest';
import { maxOf, minOf } from './extremes.js';

describe('maxOf / minOf', () => {
  it('agree with Math.max / Math.min, empty input included', () => {
    for (const xs of [[], [3], [1, 5, 2], [-1, -7]]) {
      expect(maxOf(xs)).toBe(Math.max(...xs));
      expect(minOf(xs)).toBe(Math.min(...xs));
    }
    expect(maxOf([1, Number.NaN, 2])).toBeNaN();
    expect(maxOf(new Set([4, 9]).values())).toBe(9);
  });

  it('take a million numbers, where the spread throws', () => {
    const many = Array.from({ length: 1_000_000 }, (_, i) => i);
    expect(() => Math.max(...many)).toThrow(RangeError);
    expect(maxOf(many)).toBe(999_999);
    expect(minOf(many)).toBe(0);
  });
});
