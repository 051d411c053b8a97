/**
 * Token derivation: token = first 16 bytes of HMAC-SHA256(indexKey, P(kind) ‖ UTF-8(value)),
 * where P(kind) is the 64-byte block "custos/blind-index/v1/" ‖ kind, zero padded
 * (docs/blind-index.md §3). Values arrive already normalised; this file only encodes, MACs,
 * sorts and deduplicates.
 */
import { CustosError } from '../errors.js';
import { BLIND_TOKEN_LENGTH, type BlindToken } from './blind-token.js';
import { tokenMac, type BlindIndexKey, type BlindTokenKind } from './index-key.js';

/** Scratch for UTF-8 encoding; grows when a value needs more (values are bounded by callers). */
let scratch = new Uint8Array(1024);

/**
 * UTF-8 encodes `s` into `buf` (which has room for 3 bytes per UTF-16 unit) and returns the
 * length. A JavaScript loop: for short terms the native TextEncoder call costs more than the
 * encoding. Lone surrogates become U+FFFD, exactly as TextEncoder does.
 */
function utf8Into(s: string, buf: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[n++] = c;
    } else if (c < 0x800) {
      buf[n++] = 0xc0 | (c >> 6);
      buf[n++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          buf[n++] = 0xf0 | (c >> 18);
          buf[n++] = 0x80 | ((c >> 12) & 0x3f);
          buf[n++] = 0x80 | ((c >> 6) & 0x3f);
          buf[n++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      buf[n++] = 0xe0 | (c >> 12);
      buf[n++] = 0x80 | ((c >> 6) & 0x3f);
      buf[n++] = 0x80 | (c & 0x3f);
    }
  }
  return n;
}

/**
 * Writes the tokens of `values` (one kind) back to back into `out` from `offset`: the batch
 * form, with no per-token object (a typed-array view per token costs as much as its MAC).
 * `out` needs `values.length * BLIND_TOKEN_LENGTH` bytes from `offset`.
 */
export function deriveTokensInto(
  key: BlindIndexKey,
  kind: BlindTokenKind,
  values: readonly string[],
  out: Uint8Array,
  offset = 0,
): void {
  if (
    !Number.isSafeInteger(offset) ||
    offset < 0 ||
    out.length - offset < values.length * BLIND_TOKEN_LENGTH
  ) {
    throw new CustosError('INVALID_ARGUMENT', 'token output buffer too small');
  }
  const mac = tokenMac(key, kind);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (value.length * 3 > scratch.length) scratch = new Uint8Array(value.length * 3);
    const written = utf8Into(value, scratch);
    mac.macInto(scratch, written, out, offset + i * BLIND_TOKEN_LENGTH, BLIND_TOKEN_LENGTH);
  }
}

/**
 * Blind tokens for `values` of one kind, in input order (not sorted, not deduplicated).
 * All tokens are views of one backing buffer.
 */
export function deriveTokens(
  key: BlindIndexKey,
  kind: BlindTokenKind,
  values: readonly string[],
): BlindToken[] {
  const out = new Uint8Array(values.length * BLIND_TOKEN_LENGTH);
  deriveTokensInto(key, kind, values, out);
  const tokens: BlindToken[] = new Array<BlindToken>(values.length);
  for (let i = 0; i < values.length; i++) {
    // A view constructor, not subarray(): several times cheaper per token in V8.
    tokens[i] = new Uint8Array(out.buffer, i * BLIND_TOKEN_LENGTH, BLIND_TOKEN_LENGTH) as BlindToken;
  }
  return tokens;
}

/** The blind token of one value of one kind. */
export function deriveToken(key: BlindIndexKey, kind: BlindTokenKind, value: string): BlindToken {
  if (typeof value !== 'string') throw new CustosError('INVALID_ARGUMENT', 'token value must be a string');
  return deriveTokens(key, kind, [value])[0]!;
}

/** Byte-wise order of tokens (the order of a record header's token list). */
export function compareBlindTokens(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** Sorted, deduplicated copy: the header lists tokens in byte order so it leaks no text order. */
export function sortUniqueTokens(tokens: readonly BlindToken[]): BlindToken[] {
  const sorted = [...tokens].sort(compareBlindTokens);
  const out: BlindToken[] = [];
  for (const t of sorted) {
    if (out.length === 0 || compareBlindTokens(out[out.length - 1]!, t) !== 0) out.push(t);
  }
  return out;
}
