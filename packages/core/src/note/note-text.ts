/**
 * Text rules shared by notes, checkpoints, receipts and key strings: UTF-8 only, no
 * ASCII control characters other than newline, and the key-name rules of
 * c2sp.org/signed-note (non-empty, no Unicode white space, no `+`).
 */
import { CustosError, type CustosErrorCode } from '../errors.js';
import { MAX_KEY_NAME_BYTES } from './limits.js';

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** Index of the first control character the spec forbids (below U+0020, except newline), or -1. */
function forbiddenControlIndex(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) return i;
  }
  return -1;
}
/** A lone surrogate (only reachable from JS strings, never from valid UTF-8). */
const LONE_SURROGATE = /\p{Surrogate}/u;
/** Unicode White_Space, the same set Go's `unicode.IsSpace` uses. */
const WHITE_SPACE = /\p{White_Space}/u;

/** Bytes or text, as every parser in this module accepts. */
export type TextInput = Uint8Array | string;

/** UTF-8 encodes `text`. */
export function utf8Bytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/**
 * Returns `input` as both a string and its exact UTF-8 bytes, rejecting invalid UTF-8,
 * lone surrogates, and forbidden control characters with `code`.
 */
export function decodeNoteText(
  input: TextInput,
  code: CustosErrorCode,
  what: string,
): { text: string; bytes: Uint8Array } {
  let text: string;
  let bytes: Uint8Array;
  if (typeof input === 'string') {
    if (LONE_SURROGATE.test(input)) throw new CustosError(code, `${what} contains a lone surrogate`);
    text = input;
    bytes = utf8Encoder.encode(input);
  } else {
    try {
      text = utf8Decoder.decode(input);
    } catch (cause) {
      throw new CustosError(code, `${what} is not valid UTF-8`, { cause });
    }
    bytes = input;
  }
  const bad = forbiddenControlIndex(text);
  if (bad >= 0) {
    const cp = text.charCodeAt(bad).toString(16).padStart(4, '0');
    throw new CustosError(code, `${what} contains forbidden control character U+${cp}`);
  }
  return { text, bytes };
}

/** True when `name` is a valid signed-note key name. */
export function isValidKeyName(name: string): boolean {
  return (
    name.length > 0 &&
    !WHITE_SPACE.test(name) &&
    !name.includes('+') &&
    !name.includes('\n') &&
    forbiddenControlIndex(name) < 0 &&
    !LONE_SURROGATE.test(name) &&
    utf8Encoder.encode(name).length <= MAX_KEY_NAME_BYTES
  );
}

/** Throws `code` unless `name` is a valid key name. Names are public, so they may be echoed. */
export function assertKeyName(name: string, code: CustosErrorCode, what: string): void {
  if (!isValidKeyName(name)) {
    throw new CustosError(
      code,
      `${what}: key name must be 1-${MAX_KEY_NAME_BYTES} bytes of UTF-8 without white space, '+' or control characters`,
    );
  }
}
