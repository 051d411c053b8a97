/**
 * Captured-but-not-yet-sealed archive records. The durable send transaction only numbers
 * the event and queues its encoded body (in the encrypted store, like the message itself);
 * blind tokens, sealing and chaining — needed only for upload — happen afterwards in one
 * batch transaction ({@link ArchiveCapture.sealPending}). A pending row takes the record's
 * place in `archive-queue` (same seq) and is overwritten by the sealed record.
 *
 * Row layout: u32 0xFFFFFFFF ‖ u32 seq-high ‖ u32 seq-low ‖ u16 len ‖ bucket ‖ body bytes.
 * A sealed row starts with its seq-high, which is below 2^21 (seqs are safe integers), so
 * the marker cannot be a sealed row.
 */

/** First four bytes of a pending row. */
const PENDING_MARK = 0xffffffff;
const HEAD = 14;

/** A captured event waiting to be sealed. */
export interface PendingRecord {
  readonly seq: number;
  /** The bucket chosen at capture (the user's class and time then). */
  readonly bucket: string;
  /** core/record `encodeBody` output (validated at capture). */
  readonly body: Uint8Array;
}

/** Encodes a pending row. */
export function encodePending(p: PendingRecord): Uint8Array {
  const bucket = Buffer.from(p.bucket, 'utf8');
  const out = Buffer.allocUnsafe(HEAD + bucket.length + p.body.length);
  out.writeUInt32BE(PENDING_MARK, 0);
  out.writeUInt32BE(Math.floor(p.seq / 2 ** 32), 4);
  out.writeUInt32BE(p.seq >>> 0, 8);
  out.writeUInt16BE(bucket.length, 12);
  out.set(bucket, HEAD);
  out.set(p.body, HEAD + bucket.length);
  return out;
}

/** True for a pending row (false for a sealed one). */
export function isPending(b: Uint8Array): boolean {
  return b.length >= HEAD && b[0] === 0xff && b[1] === 0xff && b[2] === 0xff && b[3] === 0xff;
}

/** Inverse of {@link encodePending}. */
export function decodePending(b: Uint8Array): PendingRecord {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const n = buf.readUInt16BE(12);
  return {
    seq: buf.readUInt32BE(4) * 2 ** 32 + buf.readUInt32BE(8),
    bucket: buf.subarray(HEAD, HEAD + n).toString('utf8'),
    body: buf.subarray(HEAD + n),
  };
}
