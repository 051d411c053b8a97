/**
 * The binary form of a batch upload (`application/vnd.custos.archive-batch`), an
 * alternative to the base64 JSON body that avoids JSON parsing and base64 decoding of
 * ~100 KiB per request. Layout (all integers big-endian):
 *
 *   u8  version (1)
 *   64  signature
 *   u8  session key count, then per key:  u32 length, bytes
 *   u16 record count, then per record:    u32 length, bytes
 *
 * Nothing may follow the last record. Records and keys are views into the body (no copy);
 * the body buffer belongs to this request only, so the views stay valid until it ends.
 */
import { MAX_RECORD_BYTES, MAX_WRAPPED_SESSION_KEY_BYTES } from '@custos/core';
import { ServerError } from '../errors.js';
import { MAX_RECORDS_PER_UPLOAD, MAX_SESSION_KEYS_PER_UPLOAD } from './archive-defaults.js';
import type { BatchUpload } from './batch-verification.js';

/** Media type of the binary batch upload. */
export const ARCHIVE_BATCH_MEDIA_TYPE = 'application/vnd.custos.archive-batch';
/** Version byte of the binary batch layout. */
export const ARCHIVE_BATCH_WIRE_VERSION = 1;
const SIGNATURE_BYTES = 64;

const bad = (msg: string): ServerError => new ServerError('INVALID_REQUEST', `archive batch: ${msg}`);

/** Encodes an upload in the binary layout (clients, tests and the bench). */
export function encodeBatchUpload(u: BatchUpload): Buffer {
  let size = 1 + SIGNATURE_BYTES + 1 + 2;
  for (const k of u.sessionKeys) size += 4 + k.length;
  for (const r of u.records) size += 4 + r.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = ARCHIVE_BATCH_WIRE_VERSION;
  out.set(u.signature, 1);
  let at = 1 + SIGNATURE_BYTES;
  out[at++] = u.sessionKeys.length;
  for (const k of u.sessionKeys) {
    out.writeUInt32BE(k.length, at);
    out.set(k, at + 4);
    at += 4 + k.length;
  }
  out.writeUInt16BE(u.records.length, at);
  at += 2;
  for (const r of u.records) {
    out.writeUInt32BE(r.length, at);
    out.set(r, at + 4);
    at += 4 + r.length;
  }
  return out;
}

/**
 * Decodes the binary layout with the same limits as the JSON body (1..1000 records of at
 * most MAX_RECORD_BYTES, at most 16 session keys). Throws INVALID_REQUEST naming what is wrong.
 */
export function decodeBatchUpload(body: Uint8Array): BatchUpload {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const n = body.length;
  if (n < 1 + SIGNATURE_BYTES + 1 + 2) throw bad('body is truncated');
  if (body[0] !== ARCHIVE_BATCH_WIRE_VERSION) throw bad(`unsupported version ${body[0]}`);
  const signature = body.subarray(1, 1 + SIGNATURE_BYTES);
  let at = 1 + SIGNATURE_BYTES;
  const keyCount = body[at++]!;
  if (keyCount > MAX_SESSION_KEYS_PER_UPLOAD)
    throw bad(`more than ${MAX_SESSION_KEYS_PER_UPLOAD} session keys`);
  const item = (what: string, max: number): Uint8Array => {
    if (at + 4 > n) throw bad(`${what}: length is truncated`);
    const len = view.getUint32(at);
    if (len < 1 || len > max) throw bad(`${what}: length ${len} is outside 1..${max}`);
    if (at + 4 + len > n) throw bad(`${what}: bytes are truncated`);
    const out = body.subarray(at + 4, at + 4 + len);
    at += 4 + len;
    return out;
  };
  const sessionKeys: Uint8Array[] = [];
  for (let i = 0; i < keyCount; i++)
    sessionKeys.push(item(`sessionKeys[${i}]`, MAX_WRAPPED_SESSION_KEY_BYTES));
  if (at + 2 > n) throw bad('record count is truncated');
  const recordCount = view.getUint16(at);
  at += 2;
  if (recordCount < 1 || recordCount > MAX_RECORDS_PER_UPLOAD) {
    throw bad(`record count ${recordCount} is outside 1..${MAX_RECORDS_PER_UPLOAD}`);
  }
  const records: Uint8Array[] = new Array<Uint8Array>(recordCount);
  for (let i = 0; i < recordCount; i++) records[i] = item(`records[${i}]`, MAX_RECORD_BYTES);
  if (at !== n) throw bad(`${n - at} bytes follow the last record`);
  return { records, signature, sessionKeys };
}
