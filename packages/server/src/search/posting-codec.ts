/**
 * Posting blocks: the ascending log indexes of the records that carry one token within one
 * indexer pass, stored as unsigned LEB128 varints of the gaps — the first relative to the
 * block's base (the pass's first log index), each next one relative to its predecessor.
 * Dense terms cost about one byte per record; every id is below 2^53, so plain number
 * arithmetic is exact (no 32-bit bitwise operators on values).
 */
import { ServerError } from '../errors.js';

/** Largest varint a 2^53 - 1 gap needs (8 × 7 bits ≥ 53). */
const MAX_VARINT_BYTES = 8;

/** Encodes strictly ascending ids, all ≥ `base`. */
export function encodePostings(ids: readonly number[], base: number): Buffer {
  const out = Buffer.allocUnsafe(ids.length * MAX_VARINT_BYTES);
  let at = 0;
  let prev = base;
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (id < prev || (i > 0 && id === prev)) throw new RangeError('posting ids must ascend from the base');
    let gap = id - prev;
    while (gap >= 0x80) {
      out[at++] = (gap % 0x80) | 0x80;
      gap = Math.floor(gap / 0x80);
    }
    out[at++] = gap;
    prev = id;
  }
  return Buffer.from(out.subarray(0, at));
}

/**
 * Decodes `n` ids of a block into `into` (appended); a stored row that does not decode to
 * exactly `n` ids is corrupt and refused, never half-read.
 */
export function decodePostings(bytes: Uint8Array, base: number, n: number, into: number[] = []): number[] {
  let at = 0;
  let prev = base;
  for (let i = 0; i < n; i++) {
    let gap = 0;
    let scale = 1;
    for (let k = 0; ; k++) {
      if (at >= bytes.length || k >= MAX_VARINT_BYTES) {
        throw new ServerError('INTERNAL', 'a stored posting block is corrupt');
      }
      const b = bytes[at++]!;
      gap += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
    }
    prev += gap;
    if (prev > Number.MAX_SAFE_INTEGER)
      throw new ServerError('INTERNAL', 'a stored posting block is corrupt');
    into.push(prev);
  }
  if (at !== bytes.length) throw new ServerError('INTERNAL', 'a stored posting block has trailing bytes');
  return into;
}

/**
 * Marks which of `candidates` (strictly ascending, the first `count` used) occur in an encoded
 * block: sets `marks[i] = 1` for each one present, leaves the others untouched (so several
 * blocks can be OR'ed into one mark array). Streams the row once without building its id
 * list — a common token's block holds up to a pass of ids, the candidates of a rarer token
 * far fewer — and reads it to the end, so a corrupt row is refused exactly as by
 * {@link decodePostings}, never half-read.
 */
export function markPresent(
  bytes: Uint8Array,
  base: number,
  n: number,
  candidates: ArrayLike<number>,
  count: number,
  marks: Uint8Array,
): void {
  let at = 0;
  let prev = base;
  let c = 0;
  const len = bytes.length;
  for (let i = 0; i < n; i++) {
    // Fast path: a one-byte gap (dense tokens are mostly these).
    let b = at < len ? bytes[at]! : 0x100;
    if (b < 0x80) {
      at++;
      prev += b;
    } else {
      let gap = 0;
      let scale = 1;
      for (let k = 0; ; k++) {
        if (at >= len || k >= MAX_VARINT_BYTES) {
          throw new ServerError('INTERNAL', 'a stored posting block is corrupt');
        }
        b = bytes[at++]!;
        gap += (b & 0x7f) * scale;
        if (b < 0x80) break;
        scale *= 0x80;
      }
      prev += gap;
      if (prev > Number.MAX_SAFE_INTEGER)
        throw new ServerError('INTERNAL', 'a stored posting block is corrupt');
    }
    while (c < count && candidates[c]! < prev) c++;
    if (c < count && candidates[c] === prev) marks[c] = 1;
  }
  if (at !== len) throw new ServerError('INTERNAL', 'a stored posting block has trailing bytes');
}

/** The ids present in every list (each ascending); ascending. */
export function intersectSorted(lists: readonly (readonly number[])[]): number[] {
  if (lists.length === 0) return [];
  const sorted = [...lists].sort((a, b) => a.length - b.length);
  let acc: number[] = [...sorted[0]!];
  for (let l = 1; l < sorted.length && acc.length > 0; l++) {
    const other = sorted[l]!;
    const next: number[] = [];
    let j = 0;
    for (const id of acc) {
      // Galloping would help for very skewed lists; blocks are small enough that a merge wins.
      while (j < other.length && other[j]! < id) j++;
      if (j < other.length && other[j] === id) next.push(id);
    }
    acc = next;
  }
  return acc;
}

/** The union of ascending lists; ascending, without duplicates. */
export function unionSorted(lists: readonly (readonly number[])[]): number[] {
  if (lists.length === 1) return [...lists[0]!];
  return [...new Set(lists.flat())].sort((a, b) => a - b);
}
