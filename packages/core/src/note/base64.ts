/**
 * Strict standard base64 (RFC 4648 §4, with padding). Node's decoder is lenient: it
 * skips invalid characters and ignores non-zero trailing bits, so two different strings
 * can decode to the same bytes. Signed notes are compared and hashed as text, so Custos
 * accepts only the one canonical encoding of any byte string.
 */

const BASE64_SHAPE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Encodes bytes as standard padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Decodes canonical standard base64, or returns `undefined` when `text` is not the
 * canonical encoding of any byte string (callers raise their own typed error).
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64_SHAPE.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  // Rejects non-zero padding bits, which the shape check above cannot see.
  if (bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
