/** Fuzzes the posting-block decoder (stored rows are input too): a corrupt row is INTERNAL, never another throw or a wrong count. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isServerError } from '../errors.js';
import { decodePostings, encodePostings, markPresent } from './posting-codec.js';

const RUNS = Number(process.env.CUSTOS_FUZZ_RUNS ?? 3000);

const SEEDS: { bytes: Uint8Array; n: number }[] = [
  { bytes: encodePostings([0, 1, 2, 3], 0), n: 4 },
  { bytes: encodePostings([5, 300, 70_000, 2 ** 40], 5), n: 4 },
  { bytes: encodePostings([9], 1), n: 1 },
];

/** Decodes exactly `n` ascending ids ≥ base, or refuses with INTERNAL. */
function decodesOrRefuses(bytes: Uint8Array, n: number, base: number): boolean {
  try {
    const ids = decodePostings(bytes, base, n);
    expect(ids).toHaveLength(n);
    for (const id of ids) expect(Number.isSafeInteger(id)).toBe(true);
    for (let i = 0; i < ids.length; i++) expect(ids[i]!).toBeGreaterThanOrEqual(i === 0 ? base : ids[i - 1]!);
    // The streaming reader accepts and refuses exactly the same rows, and marks what decodes.
    const cands = [...new Set(ids)];
    const marks = new Uint8Array(cands.length);
    markPresent(bytes, base, n, cands, cands.length, marks);
    expect(marks.every((m) => m === 1)).toBe(true);
    return true;
  } catch (e) {
    if (isServerError(e, 'INTERNAL')) {
      expect(() => markPresent(bytes, base, n, [base], 1, new Uint8Array(1))).toThrow(/posting block/);
      return false;
    }
    throw e;
  }
}

describe('decodePostings (fuzz)', () => {
  it('accepts the seeds', () => {
    for (const s of SEEDS) expect(decodesOrRefuses(s.bytes, s.n, 0)).toBe(true);
  });

  it('refuses random and mutated rows with INTERNAL only', () => {
    const mutated = fc
      .tuple(
        fc.constantFrom(...SEEDS),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }),
        fc.integer({ min: -2, max: 2 }),
      )
      .map(([s, flips, dn]) => {
        const b = Uint8Array.from(s.bytes);
        for (const [at, v] of flips) b[at % b.length] = v;
        return { bytes: b, n: Math.max(0, s.n + dn) };
      });
    fc.assert(
      fc.property(
        fc.oneof(fc.record({ bytes: fc.uint8Array({ maxLength: 64 }), n: fc.nat({ max: 40 }) }), mutated),
        fc.nat({ max: 2 ** 30 }),
        ({ bytes, n }, base) => {
          decodesOrRefuses(bytes, n, base);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
