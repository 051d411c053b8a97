/**
 * The `archive-uploads` row: one per acknowledged batch, holding what the proof step needs
 * per record (hash, size, bucket, log index). Written in binary (one row of ~45 bytes per
 * record instead of ~100 of JSON with base64, and no per-field JSON work on the upload
 * path); rows written as JSON by earlier versions still decode.
 *
 * Layout, big-endian: u8 version (1) ‖ u64 firstSeq ‖ u32 count ‖ u16 bucket-name count ‖
 * per name: u16 length, UTF-8 ‖ per record: hash(32) ‖ u32 size ‖ u64 log index ‖ u16 name index.
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
}

const VERSION = 1;
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
  const names = [...new Set(u.buckets)];
  const nameIndex = new Map(names.map((x, i) => [x, i]));
  const encoded = names.map((x) => Buffer.from(x, 'utf8'));
  const size = 1 + 8 + 4 + 2 + encoded.reduce((s, e) => s + 2 + e.length, 0) + n * PER_RECORD;
  const out = Buffer.allocUnsafe(size);
  out[0] = VERSION;
  writeU64(out, u.firstSeq, 1);
  out.writeUInt32BE(n, 9);
  out.writeUInt16BE(names.length, 13);
  let at = 15;
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
  if (b.length < 15 || b[0] !== VERSION) bad();
  const firstSeq = readU64(b, 1);
  const n = b.readUInt32BE(9);
  const nameCount = b.readUInt16BE(13);
  let at = 15;
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
  return { firstSeq, hashes, sizes, buckets, logIndexes };
}
