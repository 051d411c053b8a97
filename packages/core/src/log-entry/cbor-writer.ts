/**
 * A minimal writer for the one CBOR shape log entries use: a definite-length map of
 * short ASCII text keys to unsigned integers, ASCII text strings and byte strings, with
 * keys in RFC 8949 §4.2.1 order. It exists because the sequencer encodes every entry it
 * logs and cborg's generic encoder (with its key sorter) is several times slower;
 * log-entry.test.ts proves that both produce identical bytes.
 */

/** A value the writer can encode. Strings MUST be ASCII (callers validate first). */
export type CborScalar = number | string | Uint8Array;

export const MAJOR_UINT = 0;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_MAP = 5;
const TWO_POW_32 = 2 ** 32;

/** RFC 8949 §4.2.1 key order for text keys: shorter encodings first, then bytewise. */
export function canonicalKeyOrder(keys: readonly string[]): string[] {
  return [...keys].sort((a, b) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0));
}

/** Bytes of the CBOR head that carries `n` (an item's length or an unsigned integer). */
export function headerSize(n: number): number {
  return n < 24 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

function valueSize(v: CborScalar): number {
  if (typeof v === 'number') return headerSize(v);
  return headerSize(v.length) + v.length;
}

/** Writes the CBOR head of major type `major` carrying `n` at `at`; returns the offset after it. */
export function writeHeader(out: Uint8Array, at: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) {
    out[at] = m | n;
    return at + 1;
  }
  if (n <= 0xff) {
    out[at] = m | 24;
    out[at + 1] = n;
    return at + 2;
  }
  if (n <= 0xffff) {
    out[at] = m | 25;
    out[at + 1] = n >>> 8;
    out[at + 2] = n & 0xff;
    return at + 3;
  }
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (n <= 0xffffffff) {
    out[at] = m | 26;
    view.setUint32(at + 1, n, false);
    return at + 5;
  }
  out[at] = m | 27;
  view.setUint32(at + 1, Math.floor(n / TWO_POW_32), false);
  view.setUint32(at + 5, n >>> 0, false);
  return at + 9;
}

function writeAscii(out: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  return at + s.length;
}

/**
 * Encodes `[key, value]` pairs, already in canonical key order, as one CBOR map. Integers
 * MUST be safe non-negative integers.
 */
export function writeCanonicalMap(pairs: readonly (readonly [string, CborScalar])[]): Uint8Array {
  const keys: string[] = [];
  const values: CborScalar[] = [];
  for (const [k, v] of pairs) {
    keys.push(k);
    values.push(v);
  }
  return writeCanonicalValues(keys, values);
}

/**
 * `writeCanonicalMap` over parallel arrays: `values[i]` under `keys[i]`, the keys already in
 * canonical order. For a caller with a fixed key list (the relay's receipts, one per
 * envelope) it builds no pair per field.
 */
export function writeCanonicalValues(keys: readonly string[], values: readonly CborScalar[]): Uint8Array {
  let size = headerSize(keys.length);
  for (let i = 0; i < keys.length; i++)
    size += headerSize(keys[i]!.length) + keys[i]!.length + valueSize(values[i]!);
  const out = new Uint8Array(size);
  let at = writeHeader(out, 0, MAJOR_MAP, keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = values[i]!;
    at = writeHeader(out, at, MAJOR_TEXT, k.length);
    at = writeAscii(out, at, k);
    if (typeof v === 'number') {
      at = writeHeader(out, at, MAJOR_UINT, v);
    } else if (typeof v === 'string') {
      at = writeHeader(out, at, MAJOR_TEXT, v.length);
      at = writeAscii(out, at, v);
    } else {
      at = writeHeader(out, at, MAJOR_BYTES, v.length);
      out.set(v, at);
      at += v.length;
    }
  }
  return out;
}
