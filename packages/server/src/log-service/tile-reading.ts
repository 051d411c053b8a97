/**
 * Reading the integrated log: a core TileReader over the store (for proofs and for
 * extending edge tiles), and the bytes of tiles and entry bundles as C2SP tlog-tiles
 * serves them. Only what a checkpoint covers is ever served.
 */
import { encodeEntryBundle, tilePath, TILE_WIDTH, type TileId, type TileReader } from '@custos/core';
import type { OrgId } from '../ids.js';
import type { LogStore } from '../store/log-stores.js';

/** Thrown when the store lacks a tile the tree state says exists (a corrupted store). */
export class MissingTileError extends Error {
  override readonly name = 'MissingTileError';
}

/** A TileReader over the org's stored tiles; each stored row is the widest version of its tile. */
export function storeTileReader(log: LogStore, orgId: OrgId): TileReader {
  return {
    async readTiles(ids: readonly TileId[]): Promise<Uint8Array[]> {
      const rows = await log.tiles(
        orgId,
        ids.map((id) => ({ level: id.level, index: id.index })),
      );
      const byKey = new Map(rows.map((r) => [`${r.level}/${r.index}`, r.hashes]));
      return ids.map((id) => {
        const bytes = byKey.get(`${id.level}/${id.index}`);
        if (bytes === undefined || bytes.length < id.width * 32) {
          throw new MissingTileError(`tile ${tilePath(id)} is not stored`);
        }
        return bytes;
      });
    },
  };
}

/**
 * The bytes of hash tile `id` as of tree size `treeSize`, or undefined when that tree does
 * not contain it (the request named a wider partial tile than exists, or a tile beyond).
 */
export async function tileBytes(
  log: LogStore,
  orgId: OrgId,
  id: TileId,
  treeSize: number,
): Promise<Uint8Array | undefined> {
  const available = Math.floor(treeSize / 2 ** (8 * id.level)) - id.index * TILE_WIDTH;
  if (available < id.width) return undefined;
  const [row] = await log.tiles(orgId, [{ level: id.level, index: id.index }]);
  if (row === undefined || row.hashes.length < id.width * 32) return undefined;
  return row.hashes.subarray(0, id.width * 32);
}

/** The entry bundle `index` of width `width` as of tree size `treeSize`, or undefined. */
export async function entryBundleBytes(
  log: LogStore,
  orgId: OrgId,
  index: number,
  width: number,
  treeSize: number,
): Promise<Uint8Array | undefined> {
  const from = index * TILE_WIDTH;
  if (from + width > treeSize) return undefined;
  const entries = await log.entries(orgId, from, from + width);
  return encodeEntryBundle(entries);
}
