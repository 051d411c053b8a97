/**
 * Property tests on random trees: every generated proof verifies, and every single-bit
 * change to the leaf hash, any proof hash or the root, and every change of index or size,
 * makes verification fail.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { hashLeaf } from './hash.js';
import { verifyConsistency, verifyInclusion } from './proof-verification.js';
import { consistencyProof, inclusionProof } from './tile-proofs.js';
import type { TileReader } from './tile-proofs.js';
import { edgeTilesToRead, tilesToWrite } from './tile-writer.js';
import { tilePath } from './tiles.js';
import type { TileId } from './tiles.js';
import { EMPTY_TREE_STATE, appendLeafHashes } from './tree-state.js';
import type { TreeState } from './tree-state.js';

const MAX = 3000;

/** One log of MAX leaves with every tile version kept, and the root at every size. */
function build(): { reader: TileReader; leaves: Uint8Array[]; roots: Uint8Array[] } {
  const tiles = new Map<string, Uint8Array>();
  const reader: TileReader = {
    readTiles: async (ids: readonly TileId[]) =>
      ids.map((id) => {
        for (let w = id.width; w <= 256; w++) {
          const t = tiles.get(tilePath({ ...id, width: w }));
          if (t) return t;
        }
        throw new CustosError('MISSING_HASH', tilePath(id));
      }),
  };
  const leaves = Array.from({ length: MAX }, (_, i) => hashLeaf(Uint8Array.of(i & 0xff, i >> 8, 0x5a)));
  const roots: Uint8Array[] = [];
  let state: TreeState = EMPTY_TREE_STATE;
  for (let i = 0; i < MAX; i++) {
    const res = appendLeafHashes(state, [leaves[i]!]);
    roots[i + 1] = res.root;
    state = res.state;
    const previous = edgeTilesToRead(res).map((id) => tiles.get(tilePath(id))!);
    for (const t of tilesToWrite(res, previous)) tiles.set(tilePath(t.id), t.bytes);
  }
  return { reader, leaves, roots };
}

function flips(h: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let bit = 0; bit < h.length * 8; bit++) {
    const c = h.slice();
    c[bit >> 3]! ^= 1 << (bit & 7);
    out.push(c);
  }
  return out;
}

const split = (n: number): number => {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
};

/**
 * The decision trace of RFC 6962 PATH(index, D[size]). A proof binds only this trace, not
 * the numbers: (index', size') with the same trace recomputes the same root from the same
 * hashes (the signed checkpoint, not the proof, fixes the size). So a changed index or size
 * must fail exactly when its trace differs.
 */
function pathShape(index: number, size: number): string {
  let m = index;
  let n = size;
  let out = '';
  while (n > 1) {
    const k = split(n);
    if (m < k) {
      out += 'R';
      n = k;
    } else {
      out += 'L';
      m -= k;
      n -= k;
    }
  }
  return out;
}

/** The decision trace of RFC 6962 PROOF(m, D[n]), including SUBPROOF's final flag. */
function consistencyShape(m0: number, n0: number): string {
  let m = m0;
  let n = n0;
  let b = true;
  let out = '';
  while (m !== n) {
    const k = split(n);
    if (m <= k) {
      out += 'R';
      n = k;
    } else {
      out += 'L';
      m -= k;
      n -= k;
      b = false;
    }
  }
  return out + (b ? '.' : '+');
}

const fails = (f: () => void): boolean => {
  try {
    f();
    return false;
  } catch (e) {
    if (!(e instanceof CustosError)) throw e;
    return true;
  }
};

describe('tamper properties on random trees', () => {
  const { reader, leaves, roots } = build();

  it('inclusion: verifies, and fails on any bit flip or index/size change', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: MAX }), fc.nat(), async (size, seed) => {
        const index = seed % size;
        const proof = await inclusionProof(index, size, reader);
        const leaf = leaves[index]!;
        const root = roots[size]!;
        verifyInclusion(leaf, index, size, proof, root);
        for (const f of flips(leaf))
          expect(fails(() => verifyInclusion(f, index, size, proof, root))).toBe(true);
        for (const f of flips(root))
          expect(fails(() => verifyInclusion(leaf, index, size, proof, f))).toBe(true);
        proof.forEach((p, i) => {
          for (const f of flips(p)) {
            const bad = proof.map((q, j) => (j === i ? f : q));
            expect(fails(() => verifyInclusion(leaf, index, size, bad, root))).toBe(true);
          }
        });
        const shape = pathShape(index, size);
        const others: [number, number][] = [
          ...[index - 1, index + 1, index ^ 1, index + size, 0, size - 1].map((i): [number, number] => [
            i,
            size,
          ]),
          ...[size - 1, size + 1, size * 2, 2 * size - 1, 1].map((t): [number, number] => [index, t]),
        ];
        for (const [i, t] of others) {
          if (i === index && t === size) continue;
          const same = i >= 0 && i < t && pathShape(i, t) === shape;
          expect(fails(() => verifyInclusion(leaf, i, t, proof, root))).toBe(!same);
        }
        expect(fails(() => verifyInclusion(leaf, 2 ** 53, size, proof, root))).toBe(true);
        expect(fails(() => verifyInclusion(leaf, index, 2 ** 53, proof, root))).toBe(true);
        expect(fails(() => verifyInclusion(leaf, index, size, [...proof, root], root))).toBe(true);
        if (proof.length > 0)
          expect(fails(() => verifyInclusion(leaf, index, size, proof.slice(1), root))).toBe(true);
      }),
      { numRuns: 20 },
    );
  }, 60_000);

  it('consistency: verifies, and fails on any bit flip or size change', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: MAX }), fc.nat(), async (size2, seed) => {
        const size1 = 1 + (seed % (size2 - 1));
        const proof = await consistencyProof(size1, size2, reader);
        const r1 = roots[size1]!;
        const r2 = roots[size2]!;
        verifyConsistency(size1, size2, proof, r1, r2);
        for (const f of flips(r1))
          expect(fails(() => verifyConsistency(size1, size2, proof, f, r2))).toBe(true);
        for (const f of flips(r2))
          expect(fails(() => verifyConsistency(size1, size2, proof, r1, f))).toBe(true);
        proof.forEach((p, i) => {
          for (const f of flips(p)) {
            const bad = proof.map((q, j) => (j === i ? f : q));
            expect(fails(() => verifyConsistency(size1, size2, bad, r1, r2))).toBe(true);
          }
        });
        const shape = consistencyShape(size1, size2);
        const others: [number, number][] = [
          ...[size1 - 1, size1 + 1, size1 * 2, 0, size2].map((t): [number, number] => [t, size2]),
          ...[size2 - 1, size2 + 1, size2 * 2, size1].map((t): [number, number] => [size1, t]),
        ];
        for (const [a, b] of others) {
          if (a === size1 && b === size2) continue;
          const same = a > 0 && a < b && consistencyShape(a, b) === shape;
          expect(fails(() => verifyConsistency(a, b, proof, r1, r2))).toBe(!same);
        }
        expect(fails(() => verifyConsistency(size1, 2 ** 53, proof, r1, r2))).toBe(true);
        expect(fails(() => verifyConsistency(size1, size2, proof.slice(1), r1, r2))).toBe(true);
        expect(fails(() => verifyConsistency(size1, size2, [...proof, r2], r1, r2))).toBe(true);
      }),
      { numRuns: 20 },
    );
  }, 60_000);
});
