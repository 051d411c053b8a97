/**
 * The binary body of a batch upload (`application/vnd.custos.archive-batch`, layout owned
 * by the server: packages/server/src/archive/batch-wire.ts). It carries the sealed records
 * as they are, with no base64 and no JSON on either side. Integers are big-endian:
 *
 *   u8  version (1)
 *   64  signature
 *   u8  session key count, then per key:  u32 length, bytes
 *   u16 record count, then per record:    u32 length, bytes
 */

/** Media type of the binary batch upload. */
export const ARCHIVE_BATCH_MEDIA_TYPE = 'application/vnd.custos.archive-batch';
/** Version byte of the layout. */
export const ARCHIVE_BATCH_WIRE_VERSION = 1;
const SIGNATURE_BYTES = 64;
/** Bytes of framing besides the records and keys. */
export const BATCH_BODY_FIXED_BYTES = 1 + SIGNATURE_BYTES + 1 + 2;
/** Framing per record or key (its u32 length). */
export const BATCH_BODY_ITEM_BYTES = 4;

/** Encodes a signed batch; `records` in sequence order, `sessionKeys` the wrapped keys to upload. */
export function encodeBatchBody(
  signature: Uint8Array,
  sessionKeys: readonly Uint8Array[],
  records: readonly Uint8Array[],
): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) throw new Error('a batch signature is 64 bytes');
  if (sessionKeys.length > 0xff || records.length > 0xffff) throw new Error('too many items for one batch');
  let size = BATCH_BODY_FIXED_BYTES;
  for (const k of sessionKeys) size += BATCH_BODY_ITEM_BYTES + k.length;
  for (const r of records) size += BATCH_BODY_ITEM_BYTES + r.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = ARCHIVE_BATCH_WIRE_VERSION;
  out.set(signature, 1);
  let at = 1 + SIGNATURE_BYTES;
  out[at++] = sessionKeys.length;
  for (const k of sessionKeys) {
    out.writeUInt32BE(k.length, at);
    out.set(k, at + 4);
    at += 4 + k.length;
  }
  out.writeUInt16BE(records.length, at);
  at += 2;
  for (const r of records) {
    out.writeUInt32BE(r.length, at);
    out.set(r, at + 4);
    at += 4 + r.length;
  }
  return out;
}
