/**
 * Schema building blocks shared by the routes, and the strict decoding that follows
 * validation. Bytes travel as unpadded base64url; decoding refuses non-canonical text so
 * that one value has exactly one encoding.
 */
import { Type, type TString } from 'typebox';
import { ServerError } from '../errors.js';
import { ID_PATTERN } from '../ids.js';

/** Characters of `n` bytes in unpadded base64url. */
function b64Length(n: number): number {
  return Math.ceil((n * 4) / 3);
}

/** A base64url string holding `minBytes`..`maxBytes` bytes. */
export function Bytes(minBytes: number, maxBytes: number, description: string): TString {
  return Type.String({
    pattern: '^[A-Za-z0-9_-]*$',
    minLength: b64Length(minBytes),
    maxLength: b64Length(maxBytes),
    description: `${description} (base64url, ${minBytes === maxBytes ? `${minBytes}` : `${minBytes}–${maxBytes}`} bytes)`,
  });
}

/** A server-generated id. */
export function Id(description: string): TString {
  return Type.String({ pattern: ID_PATTERN, description });
}

/** Decodes a validated base64url field, refusing non-canonical encodings; `field` names it in the error. */
export function decodeBytes(field: string, text: string, exactBytes?: number): Buffer {
  const buf = Buffer.from(text, 'base64url');
  if (buf.toString('base64url') !== text) {
    throw new ServerError('INVALID_REQUEST', `${field}: not canonical unpadded base64url`);
  }
  if (exactBytes !== undefined && buf.length !== exactBytes) {
    throw new ServerError('INVALID_REQUEST', `${field}: expected ${exactBytes} bytes, got ${buf.length}`);
  }
  return buf;
}

/** Encodes bytes for a response. */
export function encodeBytes(buf: Buffer): string {
  return buf.toString('base64url');
}

/** The `{ error: { code, message } }` body of every error response. */
export const ErrorBody = Type.Object(
  { error: Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false }) },
  { additionalProperties: false },
);
