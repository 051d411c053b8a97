/** Posting-block codec: round trips (fast-check), known bytes, corrupt rows refused, set operations. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isServerError } from '../errors.js';
import {
  decodePostings,
  encodePostings,
  intersectSorted,
  markPresent,
  unionSorted,
} from './posting-codec.js';

const ascending = fc
  .tuple(fc.nat({ max: 2 ** 40 }), fc.uniqueArray(fc.nat({ max: 2 ** 45 }), { maxLength: 300 }))
  .map(([base, xs]) => ({ base, ids: xs.map((x) => x + base).sort((a, b) => a - b) }));

describe('posting codec', () => {
  it('round-trips ascending ids of any spacing up to 2^53', () => {
    fc.assert(
      fc.property(ascending, ({ base, ids }) => {
        expect(decodePostings(encodePostings(ids, base), base, ids.length)).toEqual(ids);
      }),
    );
    const big = [Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER];
    expect(decodePostings(encodePostings(big, 0), 0, 2)).toEqual(big);
  });

  it('writes gaps as LEB128 varints from the base', () => {
    expect(encodePostings([100, 101, 228, 16612, 16740], 100).toString('hex')).toBe('00017f8080018001');
  });

  it('refuses ids below the base or out of order', () => {
    expect(() => encodePostings([5], 6)).toThrow(RangeError);
    expect(() => encodePostings([7, 7], 0)).toThrow(RangeError);
    expect(() => encodePostings([8, 7], 0)).toThrow(RangeError);
  });

  it('refuses truncated, over-long and trailing bytes as a corrupt row', () => {
    const good = encodePostings([1, 300, 70000], 0);
    for (const [bytes, n] of [
      [good.subarray(0, good.length - 1), 3],
      [Buffer.concat([good, Buffer.from([0])]), 3],
      [Buffer.alloc(9, 0xff), 1],
      [good, 4],
      [Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 1],
    ] as const) {
      let err: unknown;
      try {
        decodePostings(bytes, 0, n);
      } catch (e) {
        err = e;
      }
      expect(isServerError(err, 'INTERNAL')).toBe(true);
    }
  });

  it('intersects and unites sorted lists like sets', () => {
    fc.assert(
      fc.property(fc.array(fc.uniqueArray(fc.nat({ max: 60 })), { minLength: 1, maxLength: 4 }), (raw) => {
        const lists = raw.map((l) => [...l].sort((a, b) => a - b));
        const all = [...new Set(lists.flat())].sort((a, b) => a - b);
        expect(intersectSorted(lists)).toEqual(all.filter((x) => lists.every((l) => l.includes(x))));
        expect(unionSorted(lists)).toEqual(all);
      }),
    );
    expect(intersectSorted([])).toEqual([]);
  });

  it('marks exactly the candidates a block holds, OR-ing into the marks it is given', () => {
    fc.assert(
      fc.property(
        ascending,
        fc.uniqueArray(fc.nat({ max: 2 ** 45 }), { maxLength: 80 }),
        fc.uint8Array({ maxLength: 80 }),
        ({ base, ids }, raw, pre) => {
          // Candidates: some ids of the block and some other values, ascending.
          const cands = [
            ...new Set([...ids.filter((_, i) => i % 3 === 0), ...raw.map((x) => x + base)]),
          ].sort((a, b) => a - b);
          const marks = new Uint8Array(cands.length);
          for (let i = 0; i < marks.length; i++) marks[i] = (pre[i] ?? 0) & 1;
          const before = Uint8Array.from(marks);
          markPresent(encodePostings(ids, base), base, ids.length, cands, cands.length, marks);
          const held = new Set(ids);
          expect([...marks]).toEqual(cands.map((c, i) => (held.has(c) || before[i] === 1 ? 1 : 0)));
        },
      ),
    );
  });

  it('looks only at the first `count` candidates', () => {
    const marks = new Uint8Array(3);
    markPresent(encodePostings([10, 20, 30], 0), 0, 3, [10, 20, 30], 2, marks);
    expect([...marks]).toEqual([1, 1, 0]);
  });

  it('refuses a corrupt row while marking, even after the last candidate', () => {
    const good = encodePostings([1, 300, 70000], 0);
    for (const [bytes, n] of [
      [good.subarray(0, good.length - 1), 3],
      [Buffer.concat([good, Buffer.from([0])]), 3],
      [Buffer.alloc(9, 0xff), 1],
      [good, 4],
      [good, 2],
      [Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), 1],
    ] as const) {
      let err: unknown;
      try {
        markPresent(bytes, 0, n, [1], 1, new Uint8Array(1));
      } catch (e) {
        err = e;
      }
      expect(isServerError(err, 'INTERNAL')).toBe(true);
    }
  });
});
