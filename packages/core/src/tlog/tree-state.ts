/**
 * The compact tree state: the tree size plus the right-edge frontier, i.e. the roots of
 * the perfect subtrees that make up the tree (one per set bit of the size, largest and
 * leftmost first). Appending a batch hashes only the new leaves and the interior nodes
 * they complete, never history, and reports every new complete node so the caller can
 * persist tiles (tile-writer.ts).
 */
import { CustosError } from '../errors.js';
import { EMPTY_ROOT, HASH_SIZE, hashChildren, hashChildrenAt, hashLeafInto } from './hash.js';
import { MAX_TREE_SIZE, assertCount, bitLength, popCount } from './tree-math.js';

/** A tree's size and its right-edge frontier (roots of its perfect subtrees, largest first). */
export interface TreeState {
  readonly size: number;
  readonly frontier: readonly Uint8Array[];
}

/** The state of the empty tree. */
export const EMPTY_TREE_STATE: TreeState = Object.freeze({ size: 0, frontier: Object.freeze([]) });

/**
 * New complete nodes at one height after an append: the nodes with indexes
 * `start .. start + hashes.length / 32 - 1` at `height` (0 = leaves), as concatenated hashes.
 */
export interface NodeRange {
  readonly height: number;
  readonly start: number;
  readonly hashes: Uint8Array;
}

/** What {@link appendLeafHashes} produced. */
export interface AppendResult {
  readonly previousSize: number;
  readonly state: TreeState;
  readonly root: Uint8Array;
  /** One range per height from 0 up, each non-empty; the leaves are `levels[0]`. */
  readonly levels: readonly NodeRange[];
}

/** Builds a {@link TreeState} from stored parts, checking that the frontier fits the size. */
export function treeState(size: number, frontier: readonly Uint8Array[]): TreeState {
  assertCount(size, 'tree size', 'INVALID_TREE_SIZE');
  if (frontier.length !== popCount(size)) {
    throw new CustosError(
      'INCONSISTENT_TREE',
      `a tree of size ${size} has ${popCount(size)} frontier hashes, got ${frontier.length}`,
    );
  }
  for (const h of frontier) {
    if (h.length !== HASH_SIZE) throw new CustosError('INCONSISTENT_TREE', 'frontier hash is not 32 bytes');
  }
  return Object.freeze({ size, frontier: Object.freeze(frontier.map((h) => h.slice())) });
}

/** The root hash of the tree `state` describes (EMPTY_ROOT for size 0). */
export function rootOf(state: TreeState): Uint8Array {
  const f = state.frontier;
  if (f.length === 0) return EMPTY_ROOT.slice();
  let acc = f[f.length - 1]!;
  for (let i = f.length - 2; i >= 0; i--) acc = hashChildren(f[i]!, acc);
  return acc.slice();
}

/** Index in `frontier` of the perfect subtree of height `h` of a tree of `size` (bit h set). */
function frontierIndex(size: number, h: number): number {
  return popCount(Math.floor(size / 2 ** (h + 1)));
}

/** Appends leaf hashes (each 32 bytes) to the tree; see {@link AppendResult}. */
export function appendLeafHashes(state: TreeState, leafHashes: readonly Uint8Array[]): AppendResult {
  const level0 = new Uint8Array(leafHashes.length * HASH_SIZE);
  for (let i = 0; i < leafHashes.length; i++) {
    const h = leafHashes[i]!;
    if (h.length !== HASH_SIZE) {
      throw new CustosError('INVALID_ARGUMENT', `leaf hash ${i} is ${h.length} bytes, not ${HASH_SIZE}`);
    }
    level0.set(h, i * HASH_SIZE);
  }
  return integrate(state, level0);
}

/** Hashes `entries` as leaves (RFC 9162 §2.1.1) and appends them; see {@link AppendResult}. */
export function appendEntries(state: TreeState, entries: readonly Uint8Array[]): AppendResult {
  const level0 = new Uint8Array(entries.length * HASH_SIZE);
  for (let i = 0; i < entries.length; i++) hashLeafInto(entries[i]!, level0, i * HASH_SIZE);
  return integrate(state, level0);
}

/** Appends the concatenated leaf hashes in `level0` to `state`. */
function integrate(state: TreeState, level0: Uint8Array): AppendResult {
  const n = state.size;
  const count = level0.length / HASH_SIZE;
  const m = n + count;
  if (m > MAX_TREE_SIZE) {
    throw new CustosError('INVALID_TREE_SIZE', 'the log cannot grow past 2^53 - 1 leaves');
  }
  if (count === 0) return { previousSize: n, state, root: rootOf(state), levels: [] };
  const levels: NodeRange[] = [{ height: 0, start: n, hashes: level0 }];
  // Invariant: `cur` holds the nodes [lo, hi) at height h that this append completed; the
  // node lo - 1, when lo is odd, is old and is the frontier's subtree of height h.
  let lo = n;
  let hi = m;
  let cur = level0;
  for (let h = 0; ; h++) {
    const nlo = Math.floor(lo / 2);
    const nhi = Math.floor(hi / 2);
    if (nhi === nlo) break; // nothing new here, so nothing new above either
    const next = new Uint8Array((nhi - nlo) * HASH_SIZE);
    let j = nlo;
    if (lo % 2 === 1) {
      // The left child is old: the frontier's perfect subtree of height h.
      const left = state.frontier[frontierIndex(n, h)]!;
      hashChildrenAt(left, 0, cur, 0, next, 0);
      j++;
    }
    for (; j < nhi; j++) {
      const off = (2 * j - lo) * HASH_SIZE;
      hashChildrenAt(cur, off, cur, off + HASH_SIZE, next, (j - nlo) * HASH_SIZE);
    }
    levels.push({ height: h + 1, start: nlo, hashes: next });
    lo = nlo;
    hi = nhi;
    cur = next;
  }
  // The new frontier: for each set bit h of m, the node floor(m / 2^h) - 1 at height h,
  // new if this append produced it, otherwise unchanged from the old frontier.
  const frontier: Uint8Array[] = [];
  for (let h = bitLength(m) - 1; h >= 0; h--) {
    const top = Math.floor(m / 2 ** h);
    if (top % 2 === 0) continue;
    const idx = top - 1;
    const range = levels[h];
    if (range !== undefined && idx >= range.start) {
      const off = (idx - range.start) * HASH_SIZE;
      frontier.push(range.hashes.slice(off, off + HASH_SIZE));
    } else {
      frontier.push(state.frontier[frontierIndex(n, h)]!);
    }
  }
  const next: TreeState = Object.freeze({ size: m, frontier: Object.freeze(frontier) });
  return { previousSize: n, state: next, root: rootOf(next), levels };
}
