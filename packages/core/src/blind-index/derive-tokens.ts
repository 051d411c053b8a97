/**
 * Token derivation: token = first 16 bytes of HMAC-SHA256(indexKey, P(kind) ‖ UTF-8(value)),
 * where P(kind) is the 64-byte block "custos/blind-index/v1/" ‖ kind, zero padded
 * (docs/blind-index.md §3). Values arrive already normalised; this file only encodes, MACs,
 * sorts and deduplicates.
 */
import { CustosError } from '../errors.js';
import { BLIND_TOKEN_LENGTH, type BlindToken } from './blind-token.js';
import { tokenMac, type BlindIndexKey, type BlindTokenKind } from './index-key.js';

const encoder = new TextEncoder();
/** Scratch for UTF-8 encoding; grows when a value needs more (values are bounded by callers). */
let scratch = new Uint8Array(1024);

/**
 * Blind tokens for `values` of one kind, in input order (not sorted, not deduplicated).
 * All tokens share one backing buffer.
 */
export function deriveTokens(
  key: BlindIndexKey,
  kind: BlindTokenKind,
  values: readonly string[],
): BlindToken[] {
  const mac = tokenMac(key, kind);
  const out = new Uint8Array(values.length * BLIND_TOKEN_LENGTH);
  const tokens: BlindToken[] = new Array<BlindToken>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (value.length * 3 > scratch.length) scratch = new Uint8Array(value.length * 3);
    const { written } = encoder.encodeInto(value, scratch);
    const off = i * BLIND_TOKEN_LENGTH;
    mac.macInto(scratch, written, out, off, BLIND_TOKEN_LENGTH);
    tokens[i] = out.subarray(off, off + BLIND_TOKEN_LENGTH) as BlindToken;
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
