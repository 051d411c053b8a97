/**
 * Tree state, tile writing and tile-based proof generation against a reference
 * implementation of the RFC 6962 §2.1 recursive definitions (MTH, PATH, PROOF).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { EMPTY_ROOT, hashChildren, hashLeaf } from './hash.js';
import { verifyConsistency, verifyInclusion } from './proof-verification.js';
import { consistencyProof, inclusionProof, rootFromTiles } from './tile-proofs.js';
import type { TileReader } from './tile-proofs.js';
import { tilesToWrite, edgeTilesToRead } from './tile-writer.js';
import { TILE_WIDTH, tilePath } from './tiles.js';
import type { TileId } from './tiles.js';
import { EMPTY_TREE_STATE, appendEntries, appendLeafHashes, rootOf, treeState } from './tree-state.js';
import type { TreeState } from './tree-state.js';

// ---- reference: RFC 6962 §2.1, written as directly as possible ----
// D is a view D[lo:hi] over one leaf array; MTH is memoised so large trees stay fast.
interface View {
  readonly leaves: readonly Uint8Array[];
  readonly lo: number;
  readonly hi: number;
}
const memo = new WeakMap<readonly Uint8Array[], Map<string, Uint8Array>>();
const k = (n: number): number => {
  let p = 1;
  while (p * 2 < n) p *= 2;
  return p;
};
const len = (d: View): number => d.hi - d.lo;
const left = (d: View, s: number): View => ({ leaves: d.leaves, lo: d.lo, hi: d.lo + s });
const right = (d: View, s: number): View => ({ leaves: d.leaves, lo: d.lo + s, hi: d.hi });
const all = (leaves: readonly Uint8Array[], n: number): View => ({ leaves, lo: 0, hi: n });
function mth(d: View): Uint8Array {
  if (len(d) === 0) return EMPTY_ROOT;
  if (len(d) === 1) return d.leaves[d.lo]!;
  let m = memo.get(d.leaves);
  if (!m) memo.set(d.leaves, (m = new Map<string, Uint8Array>()));
  const key = `${d.lo}:${d.hi}`;
  let h = m.get(key);
  if (!h) {
    const s = k(len(d));
    h = hashChildren(mth(left(d, s)), mth(right(d, s)));
    m.set(key, h);
  }
  return h;
}
function path(m: number, d: View): Uint8Array[] {
  if (len(d) <= 1) return [];
  const s = k(len(d));
  return m < s ? [...path(m, left(d, s)), mth(right(d, s))] : [...path(m - s, right(d, s)), mth(left(d, s))];
}
function subproof(m: number, d: View, b: boolean): Uint8Array[] {
  if (m === len(d)) return b ? [] : [mth(d)];
  const s = k(len(d));
  return m <= s
    ? [...subproof(m, left(d, s), b), mth(right(d, s))]
    : [...subproof(m - s, right(d, s), false), mth(left(d, s))];
}

// ---- an in-memory tile store that keeps every tile version written ----
class MemoryTiles implements TileReader {
  readonly tiles = new Map<string, Uint8Array>();
  reads = 0;
  write(id: TileId, bytes: Uint8Array): void {
    this.tiles.set(tilePath(id), bytes);
  }
  async readTiles(ids: readonly TileId[]): Promise<Uint8Array[]> {
    this.reads++;
    return ids.map((id) => {
      // Exact version, else the full tile, else any wider partial: hashes never change.
      for (let w = id.width; w <= TILE_WIDTH; w++) {
        const t = this.tiles.get(tilePath({ ...id, width: w }));
        if (t) return t;
      }
      throw new CustosError('MISSING_HASH', `no tile ${tilePath(id)}`);
    });
  }
}

const leafOf = (i: number): Uint8Array => hashLeaf(new TextEncoder().encode(`leaf ${i}`));

/** Builds a log of `n` leaves appended in the given batch sizes, writing every tile. */
function buildLog(
  n: number,
  batches: readonly number[],
): { store: MemoryTiles; leaves: Uint8Array[]; roots: Uint8Array[] } {
  const store = new MemoryTiles();
  const leaves = Array.from({ length: n }, (_, i) => leafOf(i));
  const roots: Uint8Array[] = [EMPTY_ROOT];
  let state: TreeState = EMPTY_TREE_STATE;
  let done = 0;
  let b = 0;
  while (done < n) {
    const take = Math.min(n - done, Math.max(1, batches[b++ % batches.length]!));
    const res = appendLeafHashes(state, leaves.slice(done, done + take));
    const prev = edgeTilesToRead(res).map((id) => store.tiles.get(tilePath(id))!);
    for (const t of tilesToWrite(res, prev)) store.write(t.id, t.bytes);
    state = res.state;
    done += take;
    roots[done] = res.root;
  }
  return { store, leaves, roots };
}

describe('tree state', () => {
  it('root of every size up to 600 equals MTH, whatever the batch split', () => {
    const { leaves, roots } = buildLog(600, [1, 3, 7, 256, 2, 100, 255]);
    let state: TreeState = EMPTY_TREE_STATE;
    expect(rootOf(state)).toEqual(EMPTY_ROOT);
    for (let i = 0; i < 600; i++) {
      state = appendLeafHashes(state, [leaves[i]!]).state;
      expect(rootOf(state)).toEqual(mth(all(leaves, i + 1)));
      if (roots[i + 1]) expect(roots[i + 1]).toEqual(rootOf(state));
    }
  });
  it('appending in random batch splits gives the same root and frontier as one batch', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 700 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1 }),
        (n, splits) => {
          const leaves = Array.from({ length: n }, (_, i) => leafOf(i));
          const whole = appendLeafHashes(EMPTY_TREE_STATE, leaves);
          let state: TreeState = EMPTY_TREE_STATE;
          for (let done = 0, b = 0; done < n; b++) {
            const take = Math.min(n - done, splits[b % splits.length]!);
            state = appendLeafHashes(state, leaves.slice(done, done + take)).state;
            done += take;
          }
          expect(state).toEqual(whole.state);
          expect(rootOf(state)).toEqual(whole.root);
        },
      ),
      { numRuns: 60 },
    );
  });
  it('appendEntries hashes the entries as leaves', () => {
    const entries = [Uint8Array.of(1), Uint8Array.of(2, 3), new Uint8Array(0)];
    expect(appendEntries(EMPTY_TREE_STATE, entries)).toEqual(
      appendLeafHashes(EMPTY_TREE_STATE, entries.map(hashLeaf)),
    );
  });
  it('reports every new complete node', () => {
    const leaves = Array.from({ length: 37 }, (_, i) => leafOf(i));
    const first = appendLeafHashes(EMPTY_TREE_STATE, leaves.slice(0, 13));
    const res = appendLeafHashes(first.state, leaves.slice(13));
    for (const r of res.levels) {
      for (let j = 0; j < r.hashes.length / 32; j++) {
        const i = r.start + j;
        const want = mth({ leaves, lo: i * 2 ** r.height, hi: (i + 1) * 2 ** r.height });
        expect(r.hashes.subarray(j * 32, j * 32 + 32)).toEqual(want);
      }
    }
    expect(res.levels.map((r) => [r.height, r.start, r.hashes.length / 32])).toEqual([
      [0, 13, 24],
      [1, 6, 12],
      [2, 3, 6],
      [3, 1, 3],
      [4, 0, 2],
      [5, 0, 1],
    ]);
  });
  it('validates stored state', () => {
    const s = appendLeafHashes(EMPTY_TREE_STATE, [leafOf(0), leafOf(1), leafOf(2)]).state;
    expect(treeState(3, s.frontier)).toEqual(s);
    expect(() => treeState(4, s.frontier)).toThrow(CustosError);
    expect(() => treeState(3, [s.frontier[0]!, new Uint8Array(31)])).toThrow(CustosError);
    expect(() => treeState(-1, [])).toThrow(CustosError);
    expect(() => appendLeafHashes(s, [new Uint8Array(31)])).toThrow(CustosError);
    expect(() =>
      appendLeafHashes(
        treeState(
          2 ** 53 - 1,
          Array.from({ length: 53 }, () => leafOf(0)),
        ),
        [leafOf(0)],
      ),
    ).toThrow(/2\^53/);
  });
});

describe('tile writer', () => {
  it('writes exactly the tiles C2SP defines, full and partial', () => {
    const { store, leaves } = buildLog(70_000 % 4096, [1000, 17, 256]);
    // Every stored level-0 tile holds the leaf hashes in order.
    for (const [p, bytes] of store.tiles) {
      if (!p.startsWith('tile/0/')) continue;
      const n = Number(p.slice(7, 10));
      for (let i = 0; i < bytes.length / 32; i++)
        expect(bytes.subarray(i * 32, i * 32 + 32)).toEqual(leaves[n * 256 + i]);
    }
    // A level-1 hash is the MTH of a full level-0 tile.
    const l1 = store.tiles.get('tile/1/000.p/1')!;
    expect(l1.subarray(0, 32)).toEqual(mth(all(leaves, 256)));
  });
});

describe('proofs from tiles equal the RFC 6962 definitions', () => {
  const N = 600;
  const { store, leaves, roots } = buildLog(N, [5, 1, 250, 3, 64, 9]);
  it('for every size up to 600 (all indexes and old sizes up to 40, samples above)', async () => {
    for (let size = 1; size <= N; size++) {
      const d = all(leaves, size);
      const root = mth(d);
      expect(await rootFromTiles(size, store)).toEqual(root);
      if (roots[size]) expect(roots[size]).toEqual(root);
      const picks =
        size <= 40
          ? [...Array(size).keys()]
          : [0, size - 1, (size * 7) % size, Math.floor(size / 2), 255 % size];
      for (const i of picks) {
        const p = await inclusionProof(i, size, store);
        expect(p).toEqual(path(i, d));
        verifyInclusion(leaves[i]!, i, size, p, root);
      }
      for (const m of size <= 40
        ? [...Array(size + 1).keys()].slice(1)
        : [size, ((size * 7919) % (size - 1)) + 1]) {
        const p = await consistencyProof(m, size, store);
        expect(p).toEqual(m === size ? [] : subproof(m, d, true));
        verifyConsistency(m, size, p, mth(all(leaves, m)), root);
      }
    }
  }, 60_000);
  it('reads each proof’s tiles in one batched call', async () => {
    const before = store.reads;
    await inclusionProof(300, 600, store);
    await consistencyProof(17, 600, store);
    expect(store.reads - before).toBe(2);
  });
  it('for random larger trees', async () => {
    const big = buildLog(70_000, [1000, 4096, 77]);
    const roots = new Map<number, Uint8Array>();
    const rootAt = (s: number): Uint8Array => {
      if (!roots.has(s)) roots.set(s, mth(all(big.leaves, s)));
      return roots.get(s)!;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 70_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (size, f) => {
          const i = Math.min(size - 1, Math.floor(f * size));
          const d = all(big.leaves, size);
          expect(await inclusionProof(i, size, big.store)).toEqual(path(i, d));
          const m = Math.max(1, i);
          const c = await consistencyProof(m, size, big.store);
          if (m < size) expect(c).toEqual(subproof(m, d, true));
          verifyConsistency(m, size, c, rootAt(m), rootAt(size));
        },
      ),
      { numRuns: 25 },
    );
  }, 60_000);
  it('rejects impossible requests', async () => {
    await expect(inclusionProof(5, 5, store)).rejects.toThrow(CustosError);
    await expect(inclusionProof(0, 0, store)).rejects.toThrow(CustosError);
    await expect(consistencyProof(0, 5, store)).rejects.toThrow(CustosError);
    await expect(consistencyProof(6, 5, store)).rejects.toThrow(CustosError);
    expect(await consistencyProof(0, 0, store)).toEqual([]);
    expect(await rootFromTiles(0, store)).toEqual(EMPTY_ROOT);
    await expect(inclusionProof(0, 10_000, store)).rejects.toThrow(CustosError);
  });
});
