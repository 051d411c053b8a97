/**
 * The `archive-uploads` row: one per acknowledged batch, holding what the proof step needs
 * per record (hash, size, bucket, log index), when the server acknowledged the batch and
 * when a proof round last found one of its records missing from the log (the evidence an
 * overdue batch is reported on). Written in binary (one row of ~45 bytes per record instead
 * of ~100 of JSON with base64, and no per-field JSON work on the upload path); rows written
 * by earlier versions still decode: JSON, and binary version 1, which has neither time.
 *
 * Layout, big-endian: u8 version ‖ u64 firstSeq ‖ u32 count ‖ (version 2 only: u64
 * acknowledgedAt ‖ u8 1 if a round found a record missing, else 0 ‖ u64 lastMissingAt, 0
 * when none did) ‖ u16 bucket-name count ‖ per name: u16 length, UTF-8 ‖ per record:
 * hash(32) ‖ u32 size ‖ u64 log index ‖ u16 name index. A row without an acknowledgement
 * time is written as version 1, as an older client wrote it.
 */
import { ClientError } from '../errors.js';
import { decodeJson } from '../store/json-codec.js';

/** A batch the server acknowledged, awaiting proofs (table `archive-uploads`, key = first seq). */
export interface UploadedBatch {
  readonly firstSeq: number;
  readonly hashes: readonly Uint8Array[];
  readonly sizes: readonly number[];
  readonly buckets: readonly string[];
  readonly logIndexes: readonly number[];
  /**
   * When the server acknowledged it (this device's clock, ms); absent in a row an older
   * client wrote, until the first proof pass that finds one of its records unlogged.
   */
  readonly acknowledgedAt?: number;
  /**
   * When a proof round last found one of its records missing from the log (this device's
   * clock, ms); absent until one does. Only with it is the batch ever overdue: the clock
   * running on while no round checked (a laptop asleep) is no evidence against the server.
   * Never without `acknowledgedAt` (the round that finds an untimed row missing sets both).
   */
  readonly lastMissingAt?: number;
}

/** The layout without an acknowledgement time (older clients). */
const VERSION_UNTIMED = 1;
/** The layout with an acknowledgement time and the last time a round found a record missing. */
const VERSION_TIMED = 2;
/** Version 2's times: u64 acknowledgedAt ‖ u8 found missing ‖ u64 lastMissingAt. */
const TIMES = 8 + 1 + 8;
const HASH = 32;
const PER_RECORD = HASH + 4 + 8 + 2;

const writeU64 = (b: Buffer, n: number, at: number): void => {
  b.writeUInt32BE(Math.floor(n / 2 ** 32), at);
  b.writeUInt32BE(n >>> 0, at + 4);
};
const readU64 = (b: Buffer, at: number): number => b.readUInt32BE(at) * 2 ** 32 + b.readUInt32BE(at + 4);

/** Encodes an upload row. */
export function encodeUploadedBatch(u: UploadedBatch): Uint8Array {
  const n = u.hashes.length;
  if (u.sizes.length !== n || u.buckets.length !== n || u.logIndexes.length !== n)
    throw new Error('an upload row needs one hash, size, bucket and log index per record');
  const { acknowledgedAt, lastMissingAt } = u;
  const timed = acknowledgedAt !== undefined;
  if (lastMissingAt !== undefined && !timed)
    throw new Error('an upload row found missing needs its acknowledgement time');
  const names = [...new Set(u.buckets)];
  const nameIndex = new Map(names.map((x, i) => [x, i]));
  const encoded = names.map((x) => Buffer.from(x, 'utf8'));
  const head = 1 + 8 + 4 + (timed ? TIMES : 0);
  const size = head + 2 + encoded.reduce((s, e) => s + 2 + e.length, 0) + n * PER_RECORD;
  const out = Buffer.allocUnsafe(size);
  out[0] = timed ? VERSION_TIMED : VERSION_UNTIMED;
  writeU64(out, u.firstSeq, 1);
  out.writeUInt32BE(n, 9);
  if (timed) {
    writeU64(out, acknowledgedAt, 13);
    out[21] = lastMissingAt === undefined ? 0 : 1;
    writeU64(out, lastMissingAt ?? 0, 22);
  }
  out.writeUInt16BE(names.length, head);
  let at = head + 2;
  for (const e of encoded) {
    out.writeUInt16BE(e.length, at);
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  for (let i = 0; i < n; i++) {
    out.set(u.hashes[i]!, at);
    out.writeUInt32BE(u.sizes[i]!, at + HASH);
    writeU64(out, u.logIndexes[i]!, at + HASH + 4);
    out.writeUInt16BE(nameIndex.get(u.buckets[i]!)!, at + HASH + 12);
    at += PER_RECORD;
  }
  return out;
}

/** Decodes an upload row (binary, or JSON from earlier versions); STORE_CORRUPT if malformed. */
export function decodeUploadedBatch(bytes: Uint8Array): UploadedBatch {
  if (bytes[0] === 0x7b) return decodeJson<UploadedBatch>(bytes); // '{': a JSON row
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (): never => {
    throw new ClientError('STORE_CORRUPT', 'an archive-uploads row is malformed');
  };
  const timed = b[0] === VERSION_TIMED;
  if (!timed && b[0] !== VERSION_UNTIMED) bad();
  const head = 1 + 8 + 4 + (timed ? TIMES : 0);
  if (b.length < head + 2) bad();
  const firstSeq = readU64(b, 1);
  const n = b.readUInt32BE(9);
  const acknowledgedAt = timed ? readU64(b, 13) : undefined;
  if (acknowledgedAt !== undefined && !Number.isSafeInteger(acknowledgedAt)) bad();
  const found = timed ? b[21] : 0;
  const missingAt = timed ? readU64(b, 22) : 0;
  if ((found !== 0 && found !== 1) || (found === 0 && missingAt !== 0) || !Number.isSafeInteger(missingAt))
    bad();
  const lastMissingAt = found === 1 ? missingAt : undefined;
  const nameCount = b.readUInt16BE(head);
  let at = head + 2;
  const names: string[] = [];
  for (let i = 0; i < nameCount; i++) {
    if (at + 2 > b.length) bad();
    const len = b.readUInt16BE(at);
    if (at + 2 + len > b.length) bad();
    names.push(b.toString('utf8', at + 2, at + 2 + len));
    at += 2 + len;
  }
  if (b.length !== at + n * PER_RECORD) bad();
  const hashes: Uint8Array[] = [];
  const sizes: number[] = [];
  const buckets: string[] = [];
  const logIndexes: number[] = [];
  for (let i = 0; i < n; i++) {
    hashes.push(new Uint8Array(b.subarray(at, at + HASH)));
    sizes.push(b.readUInt32BE(at + HASH));
    logIndexes.push(readU64(b, at + HASH + 4));
    const name = names[b.readUInt16BE(at + HASH + 12)];
    if (name === undefined) bad();
    buckets.push(name!);
    at += PER_RECORD;
  }
  const batch = { firstSeq, hashes, sizes, buckets, logIndexes };
  if (acknowledgedAt === undefined) return batch;
  return lastMissingAt === undefined
    ? { ...batch, acknowledgedAt }
    : { ...batch, acknowledgedAt, lastMissingAt };
}

/**
 * How long the records of `batch` have waited for their log entries at `now` (ms), or
 * undefined when its acknowledgement time is unknown (a row an older client wrote).
 */
export function batchProofWaited(batch: UploadedBatch, now: number): number | undefined {
  return batch.acknowledgedAt === undefined ? undefined : Math.max(0, now - batch.acknowledgedAt);
}
