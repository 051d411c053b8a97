/**
 * Deterministic CBOR (RFC 8949 §4.2.1) through cborg, and the one strict decoder every
 * archive structure goes through. Strictness is two layers: cborg's own options reject
 * indefinite lengths, duplicate keys, non-minimal integers, `undefined`, NaN/Infinity,
 * big integers, non-text map keys and every tag; then the decoded value is re-encoded and
 * must equal the input byte for byte. The second layer catches what cborg does not check
 * itself (unsorted map keys, floats standing in for integers, invalid UTF-8) and makes
 * "accepted" mean "this is the one encoding of this value", so a hash over the bytes is a
 * hash over the value.
 */
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import type { DecodeOptions } from 'cborg';
import { CustosError } from '../errors.js';
import type { CustosErrorCode } from '../errors.js';

/** The cborg decode options of every archive decoder. */
export const STRICT_DECODE_OPTIONS: DecodeOptions = Object.freeze({
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
  tags: [],
});

/** Encodes `value` as deterministic CBOR (RFC 8949 §4.2.1: shortest forms, sorted map keys). */
export function encodeDeterministic(value: unknown): Uint8Array {
  return encode(value, rfc8949EncodeOptions);
}

/** Keeps a decoder's message printable and short: it may quote attacker-chosen map keys. */
function tidy(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 160);
}

/**
 * Decodes `bytes`, accepting only the deterministic encoding of a value. Every failure,
 * including a stack overflow on absurd nesting, becomes a CustosError with `code`.
 */
export function decodeStrict(bytes: Uint8Array, what: string, code: CustosErrorCode): unknown {
  let value: unknown;
  try {
    value = decode(bytes, STRICT_DECODE_OPTIONS);
  } catch (e) {
    const detail = e instanceof Error ? tidy(e.message) : 'undecodable';
    throw new CustosError(code, `${what} is not valid CBOR: ${detail}`, { cause: e });
  }
  let again: Uint8Array;
  try {
    again = encodeDeterministic(value);
  } catch (e) {
    throw new CustosError(code, `${what} holds a value that has no deterministic encoding`, { cause: e });
  }
  if (!bytesEqual(again, bytes)) {
    throw new CustosError(code, `${what} is not in deterministic CBOR encoding (RFC 8949 §4.2.1)`);
  }
  return value;
}

/** Byte-wise equality (not constant time: use only on public data). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True for a plain decoded CBOR map (an object that is not an array or byte string). */
export function isCborMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/**
 * {@link decodeStrict} for documents whose top level must be a map: anything else (null, a
 * number, an array, bytes) is a CustosError with `code`, so readers never touch fields of a
 * non-object.
 */
export function decodeStrictMap(
  bytes: Uint8Array,
  what: string,
  code: CustosErrorCode,
): Record<string, unknown> {
  const value = decodeStrict(bytes, what, code);
  if (!isCborMap(value)) throw new CustosError(code, `${what} is not a CBOR map`);
  return value;
}
