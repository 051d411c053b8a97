/**
 * Verification at sizes up to 2^53 - 1, against the RFC 6962 recursive definitions
 * applied to random proof hashes: the root a PATH/PROOF shape implies is computed
 * top-down here and bottom-up by the verifier, which must agree for every size (covering
 * both the 32-bit and the general arithmetic paths) and disagree after any tampering.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { hashChildren } from './hash.js';
import { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './proof-verification.js';

const split = (n: number): number => {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
};

/** Root implied by PATH(m, D[n]) with `proof` (deepest first) for `leaf`. */
function pathRoot(
  m: number,
  n: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  top: number,
): Uint8Array {
  if (n === 1) {
    if (top !== -1) throw new Error('proof too long for the shape');
    return leaf;
  }
  const k = split(n);
  const sibling = proof[top]!;
  return m < k
    ? hashChildren(pathRoot(m, k, leaf, proof, top - 1), sibling)
    : hashChildren(sibling, pathRoot(m - k, n - k, leaf, proof, top - 1));
}

/** Length of PATH(m, D[n]). */
function pathLength(m: number, n: number): number {
  let len = 0;
  for (let mm = m, nn = n; nn > 1; len++) {
    const k = split(nn);
    if (mm < k) nn = k;
    else {
      mm -= k;
      nn -= k;
    }
  }
  return len;
}

/** Shape of SUBPROOF(m, D[n], true): its length. */
function consistencyLength(m: number, n: number): number {
  let len = 0;
  let b = true;
  for (let mm = m, nn = n; mm !== nn; len++) {
    const k = split(nn);
    if (mm <= k) nn = k;
    else {
      mm -= k;
      nn -= k;
      b = false;
    }
  }
  return b ? len : len + 1;
}

/** [root1, root2] implied by SUBPROOF(m, D[n], b) with `proof`, consuming from index `top` down. */
function consistencyRoots(
  m: number,
  n: number,
  b: boolean,
  proof: readonly Uint8Array[],
  top: number,
  oldRoot: Uint8Array,
): [Uint8Array, Uint8Array] {
  if (m === n) {
    if (b) return [oldRoot, oldRoot];
    return [proof[top]!, proof[top]!];
  }
  const k = split(n);
  const last = proof[top]!;
  if (m <= k) {
    const [r1, r2] = consistencyRoots(m, k, b, proof, top - 1, oldRoot);
    return [r1, hashChildren(r2, last)];
  }
  const [r1, r2] = consistencyRoots(m - k, n - k, false, proof, top - 1, oldRoot);
  return [hashChildren(last, r1), hashChildren(last, r2)];
}

const hash32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const size = fc.oneof(
  fc.integer({ min: 1, max: 2 ** 31 + 5 }),
  fc.integer({ min: 2 ** 31 - 5, max: 2 ** 33 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
  fc.constantFrom(2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER, 2 ** 52),
);
const fraction = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true });

describe('verification at sizes up to 2^53 - 1', () => {
  it('inclusion agrees with the recursive definition, and tampering fails', () => {
    fc.assert(
      fc.property(
        size,
        fraction,
        hash32,
        fc.array(hash32, { minLength: 53, maxLength: 53 }),
        (n, f, leaf, pool) => {
          const m = Math.min(n - 1, Math.floor(f * n));
          const proof = pool.slice(0, pathLength(m, n));
          const root = pathRoot(m, n, leaf, proof, proof.length - 1);
          expect(rootFromInclusionProof(leaf, m, n, proof)).toEqual(root);
          verifyInclusion(leaf, m, n, proof, root);
          const bad = root.slice();
          bad[0]! ^= 1;
          expect(() => verifyInclusion(leaf, m, n, proof, bad)).toThrow(CustosError);
          expect(() => verifyInclusion(leaf, m, n, [...proof, leaf], root)).toThrow(CustosError);
          if (proof.length > 0)
            expect(() => verifyInclusion(leaf, m, n, proof.slice(1), root)).toThrow(CustosError);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('consistency agrees with the recursive definition, and tampering fails', () => {
    fc.assert(
      fc.property(
        size,
        fraction,
        hash32,
        fc.array(hash32, { minLength: 54, maxLength: 54 }),
        (n, f, old, pool) => {
          fc.pre(n >= 2);
          const m = Math.max(1, Math.min(n - 1, Math.floor(f * n)));
          const proof = pool.slice(0, consistencyLength(m, n));
          const [r1, r2] = consistencyRoots(m, n, true, proof, proof.length - 1, old);
          verifyConsistency(m, n, proof, r1, r2);
          const bad = r2.slice();
          bad[31]! ^= 0x80;
          expect(() => verifyConsistency(m, n, proof, r1, bad)).toThrow(CustosError);
          expect(() => verifyConsistency(m, n, proof.slice(0, -1), r1, r2)).toThrow(CustosError);
        },
      ),
      { numRuns: 400 },
    );
  });
});
