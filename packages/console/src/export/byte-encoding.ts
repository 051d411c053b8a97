/** Hex, base64 and SHA-256 helpers shared by the export writers and the verifier. */
import { hash } from 'node:crypto';

/** Lowercase hex of `b`. */
export const toHex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Standard padded base64 of `b`. */
export const toBase64 = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

/** Unpadded base64url of `b` (RFC 4648 §5). */
export const toBase64Url = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

/** Strict canonical unpadded base64url to bytes; undefined otherwise. */
export function fromBase64Url(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined;
  const b = Buffer.from(s, 'base64url');
  return b.toString('base64url') === s ? new Uint8Array(b) : undefined;
}

const HEX = /^(?:[0-9a-f]{2})*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict lowercase hex to bytes; undefined when `s` is not canonical hex. */
export function fromHex(s: string): Uint8Array | undefined {
  return HEX.test(s) ? new Uint8Array(Buffer.from(s, 'hex')) : undefined;
}

/** Strict canonical base64 to bytes; undefined otherwise. */
export function fromBase64(s: string): Uint8Array | undefined {
  if (!BASE64.test(s)) return undefined;
  const b = Buffer.from(s, 'base64');
  return b.toString('base64') === s ? new Uint8Array(b) : undefined;
}

/** SHA-256 of `b` as lowercase hex. */
export const sha256Hex = (b: Uint8Array | string): string => hash('sha256', b, 'hex');

/** ISO 8601 UTC with milliseconds, e.g. 2026-01-05T09:30:00.000Z. */
export const isoUtc = (ms: number): string => new Date(ms).toISOString();
