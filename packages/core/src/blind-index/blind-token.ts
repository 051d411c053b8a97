/**
 * The blind token: a keyed, truncated HMAC-SHA256 of a normalised search term (or a
 * participant, conversation or day), stored in a record's cleartext header so the server
 * can match queries without learning the terms. See docs/blind-index.md.
 */

/** Length of every blind token in bytes (HMAC-SHA256 truncated to 128 bits). */
export const BLIND_TOKEN_LENGTH = 16;

declare const blindTokenBrand: unique symbol;

/** A 16-byte blind token. Only produced by this module or by {@link asBlindToken}. */
export type BlindToken = Uint8Array & { readonly [blindTokenBrand]: true };

/** True (and brands the bytes) when `bytes` has the length of a token, e.g. when read from a record header. */
export function isBlindTokenBytes(bytes: Uint8Array): bytes is BlindToken {
  return bytes.length === BLIND_TOKEN_LENGTH;
}
