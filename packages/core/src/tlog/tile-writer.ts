/**
 * The write side of tile storage: after {@link appendLeafHashes}, which tiles changed and
 * what their new bytes are. Only heights 0, 8, 16, … are stored (tile level L holds height
 * 8·L); the heights in between are recomputed from them when proofs are built.
 *
 * A tile that was partial before the append is extended, so its old hashes are needed:
 * {@link edgeTilesToRead} names those (at most one per level), the caller reads them
 * (from its store or with a {@link TileReader}) and passes them to {@link tilesToWrite}.
 */
import { CustosError } from '../errors.js';
import { HASH_SIZE } from './hash.js';
import type { TileReader } from './tile-proofs.js';
import { TILE_HEIGHT, TILE_WIDTH, tilePath } from './tiles.js';
import type { TileId } from './tiles.js';
import type { AppendResult } from './tree-state.js';

/** A tile to persist: its id (width 256 = full) and its bytes (width × 32). */
export interface TileWrite {
  readonly id: TileId;
  readonly bytes: Uint8Array;
}

/** The partial tiles (as they were before the append) that the append extends, in level order. */
export function edgeTilesToRead(append: AppendResult): TileId[] {
  const out: TileId[] = [];
  for (let level = 0; level * TILE_HEIGHT < append.levels.length; level++) {
    const range = append.levels[level * TILE_HEIGHT]!;
    const offset = range.start % TILE_WIDTH;
    if (offset !== 0) out.push({ level, index: (range.start - offset) / TILE_WIDTH, width: offset });
  }
  return out;
}

/**
 * The tiles the append created or extended, full and partial, in level then index order.
 * `previous[i]` holds the bytes of `edgeTilesToRead(append)[i]` (at least that width).
 */
export function tilesToWrite(append: AppendResult, previous: readonly Uint8Array[]): TileWrite[] {
  const edges = edgeTilesToRead(append);
  if (previous.length !== edges.length) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `need ${edges.length} previous edge tiles, got ${previous.length}`,
    );
  }
  const out: TileWrite[] = [];
  let edge = 0;
  for (let level = 0; level * TILE_HEIGHT < append.levels.length; level++) {
    const range = append.levels[level * TILE_HEIGHT]!;
    const count = range.hashes.length / HASH_SIZE;
    const end = range.start + count;
    let pos = range.start; // next node index (at height 8·level) to place
    while (pos < end) {
      const index = Math.floor(pos / TILE_WIDTH);
      const tileStart = index * TILE_WIDTH;
      const width = Math.min(TILE_WIDTH, end - tileStart);
      const bytes = new Uint8Array(width * HASH_SIZE);
      if (pos > tileStart) {
        const prior = previous[edge]!;
        const need = (pos - tileStart) * HASH_SIZE;
        if (prior.length < need) {
          throw new CustosError('MISSING_HASH', `tile ${tilePath(edges[edge]!)} is too short to extend`);
        }
        bytes.set(prior.subarray(0, need));
        edge++;
      }
      const from = (pos - range.start) * HASH_SIZE;
      const upto = (tileStart + width - range.start) * HASH_SIZE;
      bytes.set(range.hashes.subarray(from, upto), (pos - tileStart) * HASH_SIZE);
      out.push({ id: { level, index, width }, bytes });
      pos = tileStart + width;
    }
  }
  return out;
}

/** Reads the edge tiles with `reader` (one batched call) and returns {@link tilesToWrite}. */
export async function tilesToWriteFrom(append: AppendResult, reader: TileReader): Promise<TileWrite[]> {
  const edges = edgeTilesToRead(append);
  const previous = edges.length === 0 ? [] : await reader.readTiles(edges);
  return tilesToWrite(append, previous);
}
