/** Fuzzes the binary batch decoder: every malformed body is INVALID_REQUEST, never another throw. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isServerError } from '../errors.js';
import { decodeBatchUpload, encodeBatchUpload } from './batch-wire.js';

const RUNS = Number(process.env.CUSTOS_FUZZ_RUNS ?? 3000);

const seed = (records: number, keys: number): Uint8Array =>
  encodeBatchUpload({
    signature: new Uint8Array(64).fill(7),
    sessionKeys: Array.from({ length: keys }, (_, i) => new Uint8Array(40).fill(i)),
    records: Array.from({ length: records }, (_, i) => new Uint8Array(20 + i).fill(i)),
  });

const SEEDS = [seed(1, 0), seed(3, 1), seed(2, 2)];

/** Decodes, or is refused with INVALID_REQUEST; anything else fails the property. */
function decodesOrRefuses(input: Uint8Array): boolean {
  try {
    decodeBatchUpload(input);
    return true;
  } catch (e) {
    if (isServerError(e, 'INVALID_REQUEST')) return false;
    throw e;
  }
}

describe('decodeBatchUpload (fuzz)', () => {
  it('accepts the seeds', () => {
    for (const s of SEEDS) expect(decodesOrRefuses(s)).toBe(true);
  });

  it('refuses random and mutated bodies with INVALID_REQUEST only', () => {
    const mutated = fc
      .tuple(
        fc.constantFrom(...SEEDS),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        fc.nat(),
      )
      .map(([s, flips, cut]) => {
        const b = Uint8Array.from(s);
        for (const [at, v] of flips) b[at % b.length] = v;
        return b.subarray(0, b.length - (cut % 3 === 0 ? cut % b.length : 0));
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), (input) => {
        decodesOrRefuses(input);
      }),
      { numRuns: RUNS },
    );
  });
});
