import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, hashChildren, hashChildrenAt, hashLeaf } from './hash.js';
import { JS_SHA256_MAX_MESSAGE } from '../crypto/sha256.js';

const ref = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};

describe('hashing against node:crypto', () => {
  it('EMPTY_ROOT is SHA-256 of the empty string', () => {
    expect(Buffer.from(EMPTY_ROOT).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });
  it('hashLeaf equals SHA-256(0x00 || data) for every length across the block boundaries', () => {
    const data = new Uint8Array(JS_SHA256_MAX_MESSAGE + 200).map((_, i) => (i * 131 + 7) & 0xff);
    for (let n = 0; n <= data.length; n++) {
      const d = data.subarray(0, n);
      expect(hashLeaf(d)).toEqual(ref(Uint8Array.of(0), d));
    }
  });
  it('hashChildren equals SHA-256(0x01 || l || r) on random inputs', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (l, r) => {
          const want = ref(Uint8Array.of(1), l, r);
          expect(hashChildren(l, r)).toEqual(want);
          const out = new Uint8Array(70);
          hashChildrenAt(l, 0, r, 0, out, 5);
          expect(out.subarray(5, 37)).toEqual(want);
        },
      ),
      { numRuns: 500 },
    );
  });
  it('hashLeaf equals node:crypto on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (d) => {
        expect(hashLeaf(d)).toEqual(ref(Uint8Array.of(0), d));
      }),
      { numRuns: 300 },
    );
  });
});
