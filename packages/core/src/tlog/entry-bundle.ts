/**
 * C2SP tlog-tiles entry bundles: up to 256 log entries, each a big-endian uint16 length
 * followed by that many bytes. Entry i of bundle N is leaf N·256 + i, and hashes (RFC 9162
 * leaf hash) to hash i of level-0 tile N.
 */
import { CustosError } from '../errors.js';
import { TILE_WIDTH } from './tiles.js';
import type { EntryBundleId } from './tiles.js';

/** The longest entry a bundle can carry (uint16 length prefix). */
export const MAX_ENTRY_SIZE = 0xffff;

/** Encodes 1..256 entries as a bundle. Throws OVERSIZED_INPUT for an entry over 65,535 bytes. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length < 1 || entries.length > TILE_WIDTH) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `a bundle holds 1..${TILE_WIDTH} entries, got ${entries.length}`,
    );
  }
  let total = 0;
  for (let i = 0; i < entries.length; i++) {
    const n = entries[i]!.length;
    if (n > MAX_ENTRY_SIZE) {
      throw new CustosError(
        'OVERSIZED_INPUT',
        `entry ${i} is ${n} bytes; a bundle entry is at most ${MAX_ENTRY_SIZE}`,
      );
    }
    total += 2 + n;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const e of entries) {
    out[off] = e.length >>> 8;
    out[off + 1] = e.length & 0xff;
    out.set(e, off + 2);
    off += 2 + e.length;
  }
  return out;
}

/**
 * Decodes a bundle into its entries (copies). Rejects an empty bundle, a truncated length
 * or entry, more than 256 entries, and, with `width`, any other count. Throws MALFORMED_BUNDLE.
 */
export function decodeEntryBundle(bytes: Uint8Array, width?: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (out.length === TILE_WIDTH) {
      throw new CustosError('MALFORMED_BUNDLE', `bundle has more than ${TILE_WIDTH} entries`);
    }
    if (off + 2 > bytes.length)
      throw new CustosError('MALFORMED_BUNDLE', `bundle truncated in entry ${out.length} length`);
    const n = (bytes[off]! << 8) | bytes[off + 1]!;
    off += 2;
    if (off + n > bytes.length)
      throw new CustosError('MALFORMED_BUNDLE', `bundle truncated in entry ${out.length}`);
    out.push(bytes.slice(off, off + n));
    off += n;
  }
  if (out.length === 0) throw new CustosError('MALFORMED_BUNDLE', 'bundle is empty');
  if (width !== undefined && out.length !== width) {
    throw new CustosError('MALFORMED_BUNDLE', `bundle has ${out.length} entries, want ${width}`);
  }
  return out;
}

/** A bundle to persist after an append: its id (width 256 = full) and bytes. */
export interface BundleWrite {
  readonly id: EntryBundleId;
  readonly bytes: Uint8Array;
}

/** The partial bundle (as it was at `previousSize`) that appending extends, or null if none. */
export function entryBundleToRead(previousSize: number): EntryBundleId | null {
  const width = previousSize % TILE_WIDTH;
  return width === 0 ? null : { index: (previousSize - width) / TILE_WIDTH, width };
}

/**
 * The bundles that appending `entries` to a log of `previousSize` creates or extends.
 * `previousEntries` are the decoded entries of {@link entryBundleToRead}'s bundle (empty
 * when it is null).
 */
export function entryBundlesToWrite(
  previousSize: number,
  entries: readonly Uint8Array[],
  previousEntries: readonly Uint8Array[],
): BundleWrite[] {
  const carried = previousSize % TILE_WIDTH;
  if (previousEntries.length !== carried) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `need the ${carried} entries of the partial bundle, got ${previousEntries.length}`,
    );
  }
  const all = [...previousEntries, ...entries];
  const first = (previousSize - carried) / TILE_WIDTH;
  const out: BundleWrite[] = [];
  for (let off = 0; off < all.length; off += TILE_WIDTH) {
    const chunk = all.slice(off, off + TILE_WIDTH);
    out.push({
      id: { index: first + off / TILE_WIDTH, width: chunk.length },
      bytes: encodeEntryBundle(chunk),
    });
  }
  return entries.length === 0 ? [] : out;
}
