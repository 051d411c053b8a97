/** The delegation rule of archive-material.ts: a renewal of the same key, or a later rotation to a new key, replaces the pinned one. */
import { describe, expect, it } from 'vitest';
import { judgeDelegation } from './archive-material.js';

const key = new Uint8Array(32).fill(7);
const current = { key, notBefore: 1_000, notAfter: 5_000 };

describe('judgeDelegation', () => {
  it('takes a wider window of the same key as a renewal', () => {
    expect(judgeDelegation(current, { key: key.slice(), notBefore: 1_000, notAfter: 9_000 })).toBe('renewed');
    expect(judgeDelegation(current, { key, notBefore: 500, notAfter: 5_000 })).toBe('renewed');
  });

  it('keeps the current one when served the same or an older, narrower window', () => {
    expect(judgeDelegation(current, { ...current })).toBe('unchanged');
    expect(judgeDelegation(current, { key, notBefore: 1_000, notAfter: 4_000 })).toBe('unchanged');
    expect(judgeDelegation(current, { key, notBefore: 2_000, notAfter: 5_000 })).toBe('unchanged');
  });

  it('refuses a delegation of another key that starts no later than the current one', () => {
    const other = new Uint8Array(32).fill(8);
    expect(judgeDelegation(current, { key: other, notBefore: 0, notAfter: 99_000 })).toBe('refused');
    expect(judgeDelegation(current, { key: other, notBefore: 1_000, notAfter: 99_000 })).toBe('refused');
  });

  it('takes a later delegation of a new key as a rotation, but never goes back to a superseded key', () => {
    const other = new Uint8Array(32).fill(8);
    expect(judgeDelegation(current, { key: other, notBefore: 1_001, notAfter: 2_000 })).toBe('rotated');
    const superseded = [{ key: other, notBefore: 0, notAfter: 900, supersededAt: 1_000 }];
    expect(judgeDelegation(current, { key: other, notBefore: 3_000, notAfter: 99_000 }, superseded)).toBe(
      'refused',
    );
  });
});
