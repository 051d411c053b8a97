/**
 * C2SP tlog-tiles (c2sp.org/tlog-tiles): tile and entry-bundle paths, partial-tile
 * arithmetic and the tile codec. A tile at level L holds up to 256 consecutive tree hashes
 * at height 8·L; its paths are `tile/<L>/<N>[.p/<W>]` and `tile/entries/<N>[.p/<W>]`, with N
 * written as zero-padded 3-digit groups, all but the last prefixed with `x`.
 */
import { CustosError } from '../errors.js';
import { HASH_SIZE } from './hash.js';
import { assertCount } from './tree-math.js';

/** Tree levels covered by one tile (C2SP fixes this at 8). */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile (2^TILE_HEIGHT). */
export const TILE_WIDTH = 256;
/** Bytes in a full tile. */
export const FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE;
/** The highest tile level a path may name (the spec allows 0..63). */
export const MAX_TILE_LEVEL = 63;

/** A hash tile: `level`, index `index` within the level, `width` hashes (256 = full). */
export interface TileId {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

/** An entry bundle: index `index`, `width` entries (256 = full). */
export interface EntryBundleId {
  readonly index: number;
  readonly width: number;
}

/** What a tile path names. */
export type ParsedTilePath =
  | { readonly kind: 'tile'; readonly tile: TileId }
  | { readonly kind: 'entries'; readonly bundle: EntryBundleId };

/** One level's tiles for a tree size: how many full tiles, and the partial tile's width (0 = none). */
export interface LevelTiles {
  readonly level: number;
  readonly fullTiles: number;
  readonly partialWidth: number;
}

function assertWidth(width: number): void {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new CustosError('INVALID_ARGUMENT', `tile width must be 1..${TILE_WIDTH}, got ${String(width)}`);
  }
}

function assertLevel(level: number): void {
  if (!Number.isInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `tile level must be 0..${MAX_TILE_LEVEL}, got ${String(level)}`,
    );
  }
}

/** Encodes a tile index as C2SP path elements, e.g. 1234067 → `x001/x234/067`. */
export function encodeTileIndex(index: number): string {
  assertCount(index, 'tile index', 'INVALID_ARGUMENT');
  let rest = index;
  let out = String(rest % 1000).padStart(3, '0');
  rest = Math.floor(rest / 1000);
  while (rest > 0) {
    out = `x${String(rest % 1000).padStart(3, '0')}/${out}`;
    rest = Math.floor(rest / 1000);
  }
  return out;
}

function suffix(width: number): string {
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

/** The path of a hash tile, e.g. `tile/0/x001/x234/067.p/1`. */
export function tilePath(id: TileId): string {
  assertLevel(id.level);
  assertWidth(id.width);
  return `tile/${id.level}/${encodeTileIndex(id.index)}${suffix(id.width)}`;
}

/** The path of an entry bundle, e.g. `tile/entries/000.p/15`. */
export function entryBundlePath(id: EntryBundleId): string {
  assertWidth(id.width);
  return `tile/entries/${encodeTileIndex(id.index)}${suffix(id.width)}`;
}

const LEVEL_RE = /^(0|[1-9][0-9]?)$/;
const WIDTH_RE = /^[1-9][0-9]{0,2}$/;
const GROUP_RE = /^[0-9]{3}$/;
const MAX_PATH_LENGTH = 128;

function malformed(what: string): CustosError {
  return new CustosError('MALFORMED_TILE', `malformed tile path: ${what}`);
}

/**
 * Parses `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` strictly: no leading zeros
 * in L or W, W in 1..255, every index group three digits, non-final groups `x`-prefixed
 * and the first of several non-zero, the index a safe integer. Throws MALFORMED_TILE.
 */
export function parseTilePath(path: string): ParsedTilePath {
  if (path.length > MAX_PATH_LENGTH) throw malformed('too long');
  const parts = path.split('/');
  if (parts.length < 3 || parts[0] !== 'tile') throw malformed('must start with tile/<level>/');
  const levelText = parts[1]!;
  let rest = parts.slice(2);
  let width = TILE_WIDTH;
  // A partial tile ends in `<group>.p/<W>`.
  const last = rest[rest.length - 1]!;
  if (rest.length >= 2 && rest[rest.length - 2]!.endsWith('.p')) {
    if (!WIDTH_RE.test(last)) throw malformed('width must be a decimal 1..255 without leading zeros');
    width = Number(last);
    if (width >= TILE_WIDTH) throw malformed('width must be 1..255');
    const g = rest[rest.length - 2]!;
    rest = [...rest.slice(0, -2), g.slice(0, -2)];
  }
  if (rest.length === 0 || rest.length > 6) throw malformed('wrong number of index elements');
  let index = 0;
  for (let i = 0; i < rest.length; i++) {
    let g = rest[i]!;
    const final = i === rest.length - 1;
    if (!final) {
      if (!g.startsWith('x')) throw malformed('non-final index elements must start with x');
      g = g.slice(1);
    }
    if (!GROUP_RE.test(g)) throw malformed('index elements must be three digits');
    if (i === 0 && rest.length > 1 && g === '000') throw malformed('index has a leading zero element');
    index = index * 1000 + Number(g);
  }
  if (!Number.isSafeInteger(index)) throw malformed('index exceeds 2^53 - 1');
  if (levelText === 'entries') return { kind: 'entries', bundle: { index, width } };
  if (!LEVEL_RE.test(levelText)) throw malformed('level must be a decimal 0..63 without leading zeros');
  const level = Number(levelText);
  if (level > MAX_TILE_LEVEL) throw malformed('level must be 0..63');
  return { kind: 'tile', tile: { level, index, width } };
}

/** Number of hashes at tile level `level` (tree height 8·level) in a tree of `treeSize` leaves. */
export function hashesAtLevel(treeSize: number, level: number): number {
  return Math.floor(treeSize / 2 ** (TILE_HEIGHT * level));
}

/** Width of the partial tile at `level` for `treeSize` (0 when there is none): floor(s / 256^l) mod 256. */
export function partialTileWidth(treeSize: number, level: number): number {
  return hashesAtLevel(treeSize, level) % TILE_WIDTH;
}

/** Every level's full-tile count and partial width for `treeSize`, as the spec's example lists them. */
export function tilesForTreeSize(treeSize: number): LevelTiles[] {
  assertCount(treeSize, 'tree size', 'INVALID_TREE_SIZE');
  const out: LevelTiles[] = [];
  for (let level = 0; hashesAtLevel(treeSize, level) > 0; level++) {
    const n = hashesAtLevel(treeSize, level);
    out.push({ level, fullTiles: Math.floor(n / TILE_WIDTH), partialWidth: n % TILE_WIDTH });
  }
  return out;
}

/**
 * The tile at `level` with index `index` as it exists in a tree of `treeSize` leaves (full,
 * or partial at the right edge). Throws when that tree does not contain it.
 */
export function tileAtSize(level: number, index: number, treeSize: number): TileId {
  const n = hashesAtLevel(treeSize, level);
  const width = Math.min(TILE_WIDTH, n - index * TILE_WIDTH);
  if (width < 1) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `tile ${level}/${index} does not exist at tree size ${treeSize}`,
    );
  }
  return { level, index, width };
}

/** Concatenates 32-byte hashes into tile bytes (1..256 hashes). */
export function encodeTile(hashes: readonly Uint8Array[]): Uint8Array {
  assertWidth(hashes.length);
  const out = new Uint8Array(hashes.length * HASH_SIZE);
  hashes.forEach((h, i) => {
    if (h.length !== HASH_SIZE) throw new CustosError('INVALID_ARGUMENT', `tile hash ${i} is not 32 bytes`);
    out.set(h, i * HASH_SIZE);
  });
  return out;
}

/**
 * Splits tile bytes into hashes. The length must be a non-zero multiple of 32 and at most
 * 256 hashes; with `width`, exactly that many. Throws MALFORMED_TILE.
 */
export function decodeTile(bytes: Uint8Array, width?: number): Uint8Array[] {
  if (bytes.length === 0 || bytes.length % HASH_SIZE !== 0 || bytes.length > FULL_TILE_BYTES) {
    throw new CustosError(
      'MALFORMED_TILE',
      `tile is ${bytes.length} bytes; want a multiple of ${HASH_SIZE}, 1..${TILE_WIDTH} hashes`,
    );
  }
  const count = bytes.length / HASH_SIZE;
  if (width !== undefined && count !== width) {
    throw new CustosError('MALFORMED_TILE', `tile has ${count} hashes, want ${width}`);
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(bytes.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return out;
}
