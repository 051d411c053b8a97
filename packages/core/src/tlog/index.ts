/** Public surface of core/tlog: RFC 9162 Merkle log hashing, tree state, proofs and C2SP tlog-tiles. */
export { HASH_SIZE, EMPTY_ROOT, hashLeaf, hashChildren, hashLeafInto, hashChildrenAt } from './hash.js';
export { MAX_TREE_SIZE, parseCount } from './tree-math.js';
export { rootFromInclusionProof, verifyInclusion, verifyConsistency } from './proof-verification.js';
export { EMPTY_TREE_STATE, treeState, rootOf, appendLeafHashes, appendEntries } from './tree-state.js';
export type { TreeState, NodeRange, AppendResult } from './tree-state.js';
export {
  TILE_HEIGHT,
  TILE_WIDTH,
  FULL_TILE_BYTES,
  MAX_TILE_LEVEL,
  encodeTileIndex,
  tilePath,
  entryBundlePath,
  parseTilePath,
  hashesAtLevel,
  partialTileWidth,
  tilesForTreeSize,
  tileAtSize,
  encodeTile,
  decodeTile,
} from './tiles.js';
export type { TileId, EntryBundleId, ParsedTilePath, LevelTiles } from './tiles.js';
export {
  MAX_ENTRY_SIZE,
  encodeEntryBundle,
  decodeEntryBundle,
  entryBundleToRead,
  entryBundlesToWrite,
} from './entry-bundle.js';
export type { BundleWrite } from './entry-bundle.js';
export { inclusionProof, consistencyProof, rootFromTiles } from './tile-proofs.js';
export type { TileReader } from './tile-proofs.js';
export { edgeTilesToRead, tilesToWrite, tilesToWriteFrom } from './tile-writer.js';
export type { TileWrite } from './tile-writer.js';
