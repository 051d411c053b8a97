import { describe, expect, it } from 'vitest';
import { isUint } from './json-values.js';

describe('isUint', () => {
  it('accepts safe non-negative integers only', () => {
    for (const v of [0, 1, Number.MAX_SAFE_INTEGER]) expect(isUint(v)).toBe(true);
    for (const v of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, NaN, Infinity, '1', null, undefined, 1n])
      expect(isUint(v)).toBe(false);
  });
});
