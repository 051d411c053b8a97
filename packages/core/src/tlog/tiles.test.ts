import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CustosError, isCustosError } from '../errors.js';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  entryBundleToRead,
  entryBundlesToWrite,
} from './entry-bundle.js';
import { hashLeaf } from './hash.js';
import { verifyConsistency, verifyInclusion } from './proof-verification.js';
import { inclusionProof, consistencyProof, rootFromTiles } from './tile-proofs.js';
import { tilesToWrite } from './tile-writer.js';
import {
  decodeTile,
  encodeTile,
  encodeTileIndex,
  entryBundlePath,
  parseTilePath,
  partialTileWidth,
  tilePath,
  tilesForTreeSize,
} from './tiles.js';
import type { TileId } from './tiles.js';
import { EMPTY_TREE_STATE, appendEntries, appendLeafHashes } from './tree-state.js';

const loadFixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

interface PathsFixture {
  paths: { level: number | 'entries'; index: number; width: number; path: string }[];
  tilesForTreeSize: {
    treeSize: number;
    tiles: { level: number; fullTiles: number; partialWidth: number }[];
  }[];
}
interface TesseraFixture {
  entries: { hex: string; leafHash: string }[];
  entryBundlePath: string;
  entryBundleHex: string;
  level0TilePath: string;
  level0TileHex: string;
  checkpoints: { treeSize: number; root: string }[];
  inclusionProofs: { leafIndex: number; treeSize: number; leafHash: string; root: string; proof: string[] }[];
  consistencyProofs: { size1: number; size2: number; root1: string; root2: string; proof: string[] }[];
}

const paths = loadFixture<PathsFixture>('tlog-tiles-paths.json');
const tessera = loadFixture<TesseraFixture>('tessera-testdata-log.json');

describe('C2SP tile paths (tlog-tiles-paths.json)', () => {
  it.each(paths.paths)('$path', (v) => {
    if (v.level === 'entries') {
      expect(entryBundlePath({ index: v.index, width: v.width })).toBe(v.path);
      expect(parseTilePath(v.path)).toEqual({ kind: 'entries', bundle: { index: v.index, width: v.width } });
    } else {
      const id = { level: v.level, index: v.index, width: v.width };
      expect(tilePath(id)).toBe(v.path);
      expect(parseTilePath(v.path)).toEqual({ kind: 'tile', tile: id });
    }
  });
  it.each(paths.tilesForTreeSize)('tiles for tree size $treeSize', (v) => {
    expect(tilesForTreeSize(v.treeSize)).toEqual(v.tiles);
    for (const t of v.tiles) expect(partialTileWidth(v.treeSize, t.level)).toBe(t.partialWidth);
  });
  it('encodes indexes in 3-digit groups', () => {
    expect(encodeTileIndex(0)).toBe('000');
    expect(encodeTileIndex(1000)).toBe('x001/000');
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067');
    expect(encodeTileIndex(2 ** 53 - 1)).toBe('x009/x007/x199/x254/x740/991');
  });
  it('round-trips random ids', () => {
    for (let i = 0; i < 2000; i++) {
      const id: TileId = {
        level: i % 64,
        index: Math.floor(Math.random() * 2 ** (i % 53)),
        width: 1 + Math.floor(Math.random() * 256),
      };
      expect(parseTilePath(tilePath(id))).toEqual({ kind: 'tile', tile: id });
    }
  });
  it.each([
    'tile/0/001.p/0',
    'tile/0/001.p/256',
    'tile/0/001.p/015',
    'tile/0/001.p/',
    'tile/0/001.p',
    'tile/00/001',
    'tile/64/001',
    'tile/-1/001',
    'tile/0/01',
    'tile/0/0001',
    'tile/0/x000/001',
    'tile/0/001/002',
    'tile/0/x001',
    'tile/0/x1/001',
    'tile/0/00a',
    'tile/0/+01',
    'tile/0/ 01',
    'tile/0',
    'tile/0/',
    'tiles/0/000',
    '/tile/0/000',
    'tile/0/000/',
    'tile/0/x001.p/5/000',
    'tile/entries/000.p/0',
    'tile/entry/000',
    'tile/0/x009/x007/x199/x254/x740/992',
    'tile/0/x001/x001/x001/x001/x001/x001/000',
  ])('rejects %s', (p) => {
    let err: unknown;
    try {
      parseTilePath(p);
    } catch (e) {
      err = e;
    }
    expect(isCustosError(err, 'MALFORMED_TILE')).toBe(true);
  });
  it('refuses to format impossible ids', () => {
    expect(() => tilePath({ level: 0, index: 0, width: 0 })).toThrow(CustosError);
    expect(() => tilePath({ level: 64, index: 0, width: 1 })).toThrow(CustosError);
    expect(() => tilePath({ level: 0, index: -1, width: 1 })).toThrow(CustosError);
    expect(() => tilesForTreeSize(-1)).toThrow(CustosError);
  });
});

describe('tile codec', () => {
  it('round-trips and rejects wrong lengths', () => {
    const hashes = Array.from({ length: 256 }, (_, i) => hashLeaf(Uint8Array.of(i)));
    const bytes = encodeTile(hashes);
    expect(bytes.length).toBe(8192);
    expect(decodeTile(bytes, 256)).toEqual(hashes);
    expect(decodeTile(bytes.subarray(0, 64))).toEqual(hashes.slice(0, 2));
    for (const n of [0, 1, 31, 33, 8193, 8224]) {
      expect(() => decodeTile(new Uint8Array(n))).toThrow(CustosError);
    }
    expect(() => decodeTile(bytes.subarray(0, 64), 3)).toThrow(/want 3/);
    expect(() => encodeTile([])).toThrow(CustosError);
    expect(() => encodeTile([new Uint8Array(31)])).toThrow(CustosError);
  });
});

describe('entry bundle codec', () => {
  it('round-trips, including empty and maximal entries', () => {
    const entries = [new Uint8Array(0), Uint8Array.of(7), new Uint8Array(65535).fill(9)];
    expect(decodeEntryBundle(encodeEntryBundle(entries), 3)).toEqual(entries);
  });
  it('rejects truncation, over-long counts and oversized entries', () => {
    const b = encodeEntryBundle([Uint8Array.of(1, 2, 3), Uint8Array.of(4)]);
    for (let n = 0; n < b.length; n++) {
      if (n === 5) continue; // the first entry alone is a valid 1-entry bundle
      expect(() => decodeEntryBundle(b.subarray(0, n))).toThrow(CustosError);
    }
    expect(decodeEntryBundle(b.subarray(0, 5))).toEqual([Uint8Array.of(1, 2, 3)]);
    expect(() => decodeEntryBundle(b, 1)).toThrow(/want 1/);
    expect(() => decodeEntryBundle(new Uint8Array(257 * 2))).toThrow(/more than 256/);
    expect(decodeEntryBundle(new Uint8Array(256 * 2))).toHaveLength(256);
    expect(() => encodeEntryBundle([new Uint8Array(65536)])).toThrow(CustosError);
    expect(() => encodeEntryBundle([])).toThrow(CustosError);
    expect(() => encodeEntryBundle(Array.from({ length: 257 }, () => new Uint8Array(0)))).toThrow(
      CustosError,
    );
  });
});

describe('entry bundle writer', () => {
  it('extends the partial bundle and splits at 256', () => {
    const e = (i: number): Uint8Array => Uint8Array.of(i & 0xff, i >> 8);
    const stored = new Map<string, Uint8Array>();
    let size = 0;
    for (const batch of [3, 250, 10, 600, 1, 0, 160]) {
      const prevId = entryBundleToRead(size);
      const prev = prevId ? decodeEntryBundle(stored.get(entryBundlePath(prevId))!, prevId.width) : [];
      const entries = Array.from({ length: batch }, (_, i) => e(size + i));
      for (const w of entryBundlesToWrite(size, entries, prev)) stored.set(entryBundlePath(w.id), w.bytes);
      size += batch;
    }
    expect(size).toBe(1024);
    for (let n = 0; n < 4; n++) {
      const got = decodeEntryBundle(stored.get(entryBundlePath({ index: n, width: 256 }))!, 256);
      expect(got).toEqual(Array.from({ length: 256 }, (_, i) => e(n * 256 + i)));
    }
    expect(stored.has('tile/entries/001.p/7')).toBe(true); // after 3 + 250 + 10 entries
    expect(() => entryBundlesToWrite(5, [e(5)], [])).toThrow(CustosError);
  });
});

describe('the Tessera test log (tessera-testdata-log.json)', () => {
  const entries = tessera.entries.map((e) => hex(e.hex));
  it('entries → leaf hashes → level-0 tile and entry bundle bytes', () => {
    expect(entries.map((e) => toHex(hashLeaf(e)))).toEqual(tessera.entries.map((e) => e.leafHash));
    const res = appendEntries(EMPTY_TREE_STATE, entries);
    const tiles = tilesToWrite(res, []);
    expect(tiles.map((t) => tilePath(t.id))).toEqual([tessera.level0TilePath]);
    expect(toHex(tiles[0]!.bytes)).toBe(tessera.level0TileHex);
    expect(toHex(encodeEntryBundle(entries))).toBe(tessera.entryBundleHex);
    expect(entryBundlePath({ index: 0, width: entries.length })).toBe(tessera.entryBundlePath);
    expect(decodeEntryBundle(hex(tessera.entryBundleHex))).toEqual(entries);
    expect(decodeTile(hex(tessera.level0TileHex), 15).map(toHex)).toEqual(
      tessera.entries.map((e) => e.leafHash),
    );
  });
  it('the root of every size equals the checkpoint root', async () => {
    let state = EMPTY_TREE_STATE;
    const tile = hex(tessera.level0TileHex);
    const reader = { readTiles: async (ids: readonly TileId[]) => ids.map(() => tile) };
    for (const cp of tessera.checkpoints) {
      if (cp.treeSize > 0) state = appendLeafHashes(state, [hashLeaf(entries[cp.treeSize - 1]!)]).state;
      const res = appendLeafHashes(state, []);
      expect(toHex(res.root)).toBe(cp.root);
      expect(toHex(await rootFromTiles(cp.treeSize, reader))).toBe(cp.root);
    }
  });
  it('its inclusion and consistency proofs verify and are regenerated from the tile', async () => {
    const tile = hex(tessera.level0TileHex);
    const reader = { readTiles: async (ids: readonly TileId[]) => ids.map(() => tile) };
    for (const v of tessera.inclusionProofs) {
      verifyInclusion(hex(v.leafHash), v.leafIndex, v.treeSize, v.proof.map(hex), hex(v.root));
      expect((await inclusionProof(v.leafIndex, v.treeSize, reader)).map(toHex)).toEqual(v.proof);
    }
    for (const v of tessera.consistencyProofs) {
      verifyConsistency(v.size1, v.size2, v.proof.map(hex), hex(v.root1), hex(v.root2));
      expect((await consistencyProof(v.size1, v.size2, reader)).map(toHex)).toEqual(v.proof);
    }
  });
});
