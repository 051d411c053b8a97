/**
 * Proof generation from tile-shaped storage. A proof is a list of Merkle Tree Hashes of
 * ranges of leaves (RFC 6962 §2.1.1 PATH and §2.1.2 PROOF); each range splits into perfect
 * subtrees, each perfect subtree of height 8·L + r lies inside one tile at level L (the
 * MTH of 2^r consecutive tile hashes), and a range on the ragged right edge is folded from
 * its perfect subtrees. So the tiles a proof needs are known up front and are read in one
 * batched call.
 */
import { CustosError } from '../errors.js';
import { EMPTY_ROOT, HASH_SIZE, hashChildren, hashChildrenAt } from './hash.js';
import { TILE_HEIGHT, TILE_WIDTH, tileAtSize, tilePath } from './tiles.js';
import type { TileId } from './tiles.js';
import { assertCount, splitPoint } from './tree-math.js';

/**
 * Reads hash tiles, batched. For each id it returns that tile's bytes with AT LEAST
 * `id.width` hashes: a wider version of the same tile (a later partial, or the full tile)
 * is equally good, because a tile's hashes never change once written. Throws if any is missing.
 */
export interface TileReader {
  readTiles(ids: readonly TileId[]): Promise<Uint8Array[]>;
}

/** A perfect subtree: the node at `height` with index `index` (leaves index·2^h .. (index+1)·2^h - 1). */
interface NodeId {
  readonly height: number;
  readonly index: number;
}

/** A proof element: MTH(D[lo:hi]), where lo is aligned to a power of two ≥ hi - lo. */
interface Range {
  readonly lo: number;
  readonly hi: number;
}

/** The ranges of PATH(index, D[0:size]), leaf sibling first (RFC 6962 §2.1.1). */
function inclusionRanges(index: number, size: number): Range[] {
  const top: Range[] = [];
  let lo = 0;
  let hi = size;
  let m = index;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < k) {
      top.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      top.push({ lo, hi: lo + k });
      lo += k;
      m -= k;
    }
  }
  return top.reverse();
}

/** The ranges of PROOF(m, D[0:size]) for 0 < m < size, in RFC 6962 §2.1.2 order. */
function consistencyRanges(m0: number, size: number): Range[] {
  const top: Range[] = [];
  let lo = 0;
  let hi = size;
  let m = m0;
  let complete = true; // SUBPROOF's flag b: the old tree's root is known to the verifier
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (m <= k) {
      top.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      top.push({ lo, hi: lo + k });
      lo += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) top.push({ lo, hi });
  return top.reverse();
}

/** The perfect subtrees of a range, left to right (largest first). */
function rangeNodes(r: Range): NodeId[] {
  const out: NodeId[] = [];
  let lo = r.lo;
  while (lo < r.hi) {
    let h = 0;
    // Largest aligned perfect subtree starting at lo that fits.
    while (lo % 2 ** (h + 1) === 0 && lo + 2 ** (h + 1) <= r.hi) h++;
    out.push({ height: h, index: lo / 2 ** h });
    lo += 2 ** h;
  }
  return out;
}

/** The tile a node's hash is computed from, at `treeSize`, and where in it. */
function locate(node: NodeId, treeSize: number): { tile: TileId; first: number; count: number } {
  const level = Math.floor(node.height / TILE_HEIGHT);
  const r = node.height - level * TILE_HEIGHT;
  const first = node.index * 2 ** r; // index at height 8·level
  const tileIndex = Math.floor(first / TILE_WIDTH);
  return {
    tile: tileAtSize(level, tileIndex, treeSize),
    first: first - tileIndex * TILE_WIDTH,
    count: 2 ** r,
  };
}

/** MTH of `count` (a power of two) consecutive hashes of `tile` starting at `first`. */
function perfectHash(tile: Uint8Array, first: number, count: number): Uint8Array {
  if (count === 1) return tile.slice(first * HASH_SIZE, (first + 1) * HASH_SIZE);
  let level = tile.slice(first * HASH_SIZE, (first + count) * HASH_SIZE);
  for (let n = count; n > 1; n /= 2) {
    const next = new Uint8Array((n / 2) * HASH_SIZE);
    for (let j = 0; j < n / 2; j++) {
      hashChildrenAt(level, 2 * j * HASH_SIZE, level, (2 * j + 1) * HASH_SIZE, next, j * HASH_SIZE);
    }
    level = next;
  }
  return level;
}

/** Reads what `ranges` need in one batch and returns MTH of each range. */
async function hashRanges(
  ranges: readonly Range[],
  treeSize: number,
  reader: TileReader,
): Promise<Uint8Array[]> {
  const perRange = ranges.map((r) => rangeNodes(r).map((n) => locate(n, treeSize)));
  const ids = new Map<string, TileId>();
  for (const locs of perRange) for (const l of locs) ids.set(tilePath(l.tile), l.tile);
  const wanted = [...ids.values()];
  const tiles = await reader.readTiles(wanted);
  if (tiles.length !== wanted.length) {
    throw new CustosError(
      'MISSING_HASH',
      `tile reader returned ${tiles.length} tiles for ${wanted.length} ids`,
    );
  }
  const byPath = new Map<string, Uint8Array>();
  wanted.forEach((id, i) => {
    const bytes = tiles[i]!;
    if (bytes.length % HASH_SIZE !== 0 || bytes.length < id.width * HASH_SIZE) {
      throw new CustosError('MISSING_HASH', `tile ${tilePath(id)} is ${bytes.length} bytes, too short`);
    }
    byPath.set(tilePath(id), bytes);
  });
  return perRange.map((locs) => {
    const hashes = locs.map((l) => perfectHash(byPath.get(tilePath(l.tile))!, l.first, l.count));
    // Fold the right edge: MTH of a ragged range is its perfect subtrees hashed right to left.
    let acc = hashes[hashes.length - 1]!;
    for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i]!, acc);
    return acc;
  });
}

/** The inclusion proof of leaf `index` in the tree of `treeSize` leaves, from tiles. */
export async function inclusionProof(
  index: number,
  treeSize: number,
  reader: TileReader,
): Promise<Uint8Array[]> {
  assertCount(treeSize, 'tree size', 'INVALID_TREE_SIZE');
  assertCount(index, 'leaf index', 'INVALID_LEAF_INDEX');
  if (index >= treeSize) {
    throw new CustosError('INVALID_LEAF_INDEX', `leaf index ${index} is not below tree size ${treeSize}`);
  }
  return hashRanges(inclusionRanges(index, treeSize), treeSize, reader);
}

/**
 * The consistency proof from size1 to size2, from tiles. Equal sizes give the empty proof;
 * size1 = 0 < size2 is rejected as verifyConsistency rejects it (docs/log.md).
 */
export async function consistencyProof(
  size1: number,
  size2: number,
  reader: TileReader,
): Promise<Uint8Array[]> {
  assertCount(size1, 'first tree size', 'INVALID_TREE_SIZE');
  assertCount(size2, 'second tree size', 'INVALID_TREE_SIZE');
  if (size1 > size2) {
    throw new CustosError('INVALID_TREE_SIZE', `first tree size ${size1} exceeds second tree size ${size2}`);
  }
  if (size1 === size2) return [];
  if (size1 === 0) {
    throw new CustosError('INVALID_TREE_SIZE', 'a consistency proof from the empty tree proves nothing');
  }
  return hashRanges(consistencyRanges(size1, size2), size2, reader);
}

/** The root of the tree of `treeSize` leaves (any size, not only checkpointed ones), from tiles. */
export async function rootFromTiles(treeSize: number, reader: TileReader): Promise<Uint8Array> {
  assertCount(treeSize, 'tree size', 'INVALID_TREE_SIZE');
  if (treeSize === 0) return EMPTY_ROOT.slice();
  const [root] = await hashRanges([{ lo: 0, hi: treeSize }], treeSize, reader);
  return root!;
}
