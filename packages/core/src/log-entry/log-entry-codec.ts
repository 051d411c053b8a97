/**
 * Log entry encoding v1: one deterministic CBOR map (RFC 8949 §4.2.1, via the same cborg
 * options as the archive record) with short text keys. Every key is required; no other
 * key is allowed; the decoder accepts only the one canonical encoding, so the leaf hash
 * is a hash of the entry's value.
 *
 *   common:          "h" bstr(32)  "t" tstr  "v" 1  "sz" uint  "ts" uint  "act" tstr
 *   archive-record:  "bkt" tstr  "dev" tstr  "org" tstr  "seq" uint
 *   relay-receipt:   "to" tstr  "from" tstr
 *   key-event:       "sub" tstr  "kind" tstr
 *   audit-event:     "kind" tstr
 *   hold:            "op" tstr ("place" | "release")  "hold" tstr
 *   disposition:     "n" uint  "bkt" tstr
 *   archive-gap:     "dev" tstr  "end" uint  "org" tstr  "seq" uint  "why" tstr
 */
import { CustosError } from '../errors.js';
import { decode, type DecodeOptions } from 'cborg';
import { encodeDeterministicCbor } from '../record/index.js';
import type { BucketId, DeviceId, OrgId } from '../record/index.js';
import type { GapReason } from '../sign/gap-declaration.js';
import { hashLeaf } from '../tlog/index.js';
import {
  canonicalKeyOrder,
  headerSize,
  MAJOR_UINT,
  writeCanonicalMap,
  writeCanonicalValues,
  writeHeader,
  type CborScalar,
} from './cbor-writer.js';
import {
  isLogEntryType,
  LOG_ENTRY_TYPES,
  LOG_ENTRY_HASH_BYTES,
  LOG_ENTRY_VERSION,
  MAX_LOG_ENTRY_BYTES,
  validateArchiveRecordFields,
  validateLogEntry,
  type LogEntry,
  type LogEntryType,
} from './log-entry.js';

const COMMON_KEYS = ['v', 't', 'h', 'sz', 'act', 'ts'] as const;

/** Wire keys specific to each type, beyond the common ones. */
const TYPE_KEYS: Record<LogEntryType, readonly string[]> = {
  'archive-record': ['org', 'dev', 'seq', 'bkt'],
  'relay-receipt': ['from', 'to'],
  'key-event': ['kind', 'sub'],
  'audit-event': ['kind'],
  hold: ['hold', 'op'],
  disposition: ['bkt', 'n'],
  'archive-gap': ['org', 'dev', 'seq', 'end', 'why'],
};

function wireFields(e: LogEntry): Record<string, CborScalar> {
  switch (e.type) {
    case 'archive-record':
      return { org: e.org, dev: e.device, seq: e.seq, bkt: e.bucket };
    case 'relay-receipt':
      return { from: e.sender, to: e.recipient };
    case 'key-event':
      return { kind: e.kind, sub: e.subject };
    case 'audit-event':
      return { kind: e.kind };
    case 'hold':
      return { hold: e.holdId, op: e.action };
    case 'disposition':
      return { bkt: e.bucket, n: e.records };
    case 'archive-gap':
      return { org: e.org, dev: e.device, seq: e.seq, end: e.end, why: e.reason };
  }
}

/** cborg's strictest decoding, the same options the archive record decoder uses. */
const STRICT_DECODE_OPTIONS: DecodeOptions = Object.freeze({
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
  tags: [],
});

/** Canonical key order of each type, computed once. */
const KEY_ORDER = Object.fromEntries(
  LOG_ENTRY_TYPES.map((t) => [t, canonicalKeyOrder([...COMMON_KEYS, ...TYPE_KEYS[t]])]),
) as unknown as Record<LogEntryType, readonly string[]>;

/** The entry as its CBOR map: wire key to value. */
function wireMap(entry: LogEntry): Record<string, CborScalar> {
  return {
    v: LOG_ENTRY_VERSION,
    t: entry.type,
    h: entry.hash,
    sz: entry.size,
    act: entry.actor,
    ts: entry.time,
    ...wireFields(entry),
  };
}

/** The relay receipt's keys in canonical order; `encodeLogEntry` lists its values in this order. */
const RELAY_RECEIPT_KEYS = ['h', 't', 'v', 'sz', 'to', 'ts', 'act', 'from'] as const;
/** The archive record's keys in canonical order, likewise. */
const ARCHIVE_RECORD_KEYS = ['h', 't', 'v', 'sz', 'ts', 'act', 'bkt', 'dev', 'org', 'seq'] as const;

/** Encodes a log entry (validating it first; INVALID_ARGUMENT names a bad field). */
export function encodeLogEntry(entry: LogEntry): Uint8Array {
  validateLogEntry(entry, 'INVALID_ARGUMENT');
  if (entry.type === 'relay-receipt') {
    // One per envelope on the relay's hot path: the values in RELAY_RECEIPT_KEYS order,
    // without the wire map and its pairs (the same bytes: log-entry.test.ts).
    return writeCanonicalValues(RELAY_RECEIPT_KEYS, [
      entry.hash,
      entry.type,
      LOG_ENTRY_VERSION,
      entry.size,
      entry.recipient,
      entry.time,
      entry.actor,
      entry.sender,
    ]);
  }
  if (entry.type === 'archive-record') {
    // One per archived record on the ingest's hot path: the same, in ARCHIVE_RECORD_KEYS order.
    return writeCanonicalValues(ARCHIVE_RECORD_KEYS, [
      entry.hash,
      entry.type,
      LOG_ENTRY_VERSION,
      entry.size,
      entry.time,
      entry.actor,
      entry.bucket,
      entry.device,
      entry.org,
      entry.seq,
    ]);
  }
  const map = wireMap(entry);
  // Validation guarantees ASCII strings, safe unsigned integers and a 32-byte hash.
  return writeCanonicalMap(KEY_ORDER[entry.type].map((k) => [k, map[k]!] as const));
}

/**
 * An archive-record entry in ARCHIVE_RECORD_KEYS order is {h: hash, t, v, sz: size, ts, act,
 * bkt, dev, org, seq: seq}. Its first bytes, up to the hash's, are the same in every entry
 * (map head, "h", the 32-byte string's head), and so are those from after the hash up to the
 * size's value (type, version, the "sz" key): both are cut from one encoded entry.
 */
const HASH_AT = 1 + 2 + 2;
const SIZE_AT = HASH_AT + LOG_ENTRY_HASH_BYTES + (2 + 1 + 'archive-record'.length) + (2 + 1) + 3;
const ENTRY_TEMPLATE = writeCanonicalValues(ARCHIVE_RECORD_KEYS, [
  new Uint8Array(LOG_ENTRY_HASH_BYTES),
  'archive-record',
  LOG_ENTRY_VERSION,
  0,
  0,
  'a',
  'a',
  'a',
  'a',
  0,
]);
const ENTRY_HEAD = ENTRY_TEMPLATE.subarray(0, HASH_AT);
const ENTRY_MIDDLE = ENTRY_TEMPLATE.subarray(HASH_AT + LOG_ENTRY_HASH_BYTES, SIZE_AT);

/** What the archive-record entries of one device's records, accepted at one time, share. */
export interface ArchiveRecordRun {
  readonly org: OrgId;
  /** The uploading device, which is also every entry's actor. */
  readonly device: DeviceId;
  readonly time: number;
}

/** One record's own fields of its archive-record entry. */
export interface ArchiveRecordFields {
  readonly hash: Uint8Array;
  readonly size: number;
  readonly seq: number;
  readonly bucket: BucketId;
}

/**
 * The archive-record entries of `records`, in order: the same bytes as {@link encodeLogEntry}
 * of each full entry (log-entry.test.ts), validated the same way, but written into one buffer
 * (each entry a view of it). An entry is the same bytes but for its hash, size and sequence
 * number, so what lies between those is encoded once per bucket and copied: ingest sequences
 * one entry per record, and encoding each on its own was ~5 % of the server's time.
 */
export function encodeArchiveRecordEntries(
  run: ArchiveRecordRun,
  records: readonly ArchiveRecordFields[],
): Uint8Array[] {
  if (records.length === 0) return [];
  // Field by field, not spread: a record object with more properties (an `org`, say) must
  // not replace the run's value in what is validated while the run's is what gets written.
  const entryOf = (r: ArchiveRecordFields): LogEntry => ({
    type: 'archive-record',
    hash: r.hash,
    size: r.size,
    actor: run.device,
    time: run.time,
    org: run.org,
    device: run.device,
    seq: r.seq,
    bucket: r.bucket,
  });
  // What follows the size up to the sequence number's value depends only on the run and the
  // bucket: {…, ts, act, bkt, dev, org, seq: …}, encoded as a six-pair map without its head
  // (one byte) and without the sequence number (0, one byte).
  const tails = new Map<string, Uint8Array>();
  const tailOf = (bucket: BucketId): Uint8Array => {
    let t = tails.get(bucket);
    if (t === undefined) {
      const e = writeCanonicalValues(ARCHIVE_RECORD_KEYS.slice(4, 10), [
        run.time,
        run.device,
        bucket,
        run.device,
        run.org,
        0,
      ]);
      t = e.subarray(1, e.length - 1);
      tails.set(bucket, t);
    }
    return t;
  };
  // Every field as encodeLogEntry checks it: in full whenever the bucket changes (the first
  // record included), else only what differs from the record before.
  let total = 0;
  let checked: unknown;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (i === 0 || r.bucket !== checked) {
      validateLogEntry(entryOf(r), 'INVALID_ARGUMENT');
      checked = r.bucket;
    } else {
      validateArchiveRecordFields(r, 'INVALID_ARGUMENT');
    }
    total +=
      ENTRY_HEAD.length +
      LOG_ENTRY_HASH_BYTES +
      ENTRY_MIDDLE.length +
      headerSize(r.size) +
      tailOf(r.bucket).length +
      headerSize(r.seq);
  }
  const out = new Uint8Array(total);
  const entries: Uint8Array[] = [];
  let at = 0;
  for (const r of records) {
    const start = at;
    out.set(ENTRY_HEAD, at);
    out.set(r.hash, (at += ENTRY_HEAD.length));
    out.set(ENTRY_MIDDLE, (at += LOG_ENTRY_HASH_BYTES));
    at = writeHeader(out, at + ENTRY_MIDDLE.length, MAJOR_UINT, r.size);
    const tail = tailOf(r.bucket);
    out.set(tail, at);
    at = writeHeader(out, at + tail.length, MAJOR_UINT, r.seq);
    entries.push(out.subarray(start, at));
  }
  return entries;
}

/** Encodes through cborg's generic RFC 8949 encoder; tests check it equals {@link encodeLogEntry}. */
export function encodeLogEntryGeneric(entry: LogEntry): Uint8Array {
  validateLogEntry(entry, 'INVALID_ARGUMENT');
  return encodeDeterministicCbor(wireMap(entry));
}

function malformed(message: string): CustosError {
  return new CustosError('MALFORMED_LOG_ENTRY', `log entry: ${message}`);
}

function str(m: Record<string, unknown>, k: string): string {
  const v = m[k];
  if (typeof v !== 'string') throw malformed(`"${k}" must be a text string`);
  return v;
}

function num(m: Record<string, unknown>, k: string): number {
  const v = m[k];
  if (typeof v !== 'number') throw malformed(`"${k}" must be an unsigned integer`);
  return v;
}

/**
 * Decodes and validates an encoded entry. Rejects oversized input, non-canonical CBOR,
 * trailing bytes, unknown versions (UNSUPPORTED_VERSION), unknown types, missing or extra
 * keys and any mistyped or out-of-range field (MALFORMED_LOG_ENTRY).
 */
export function decodeLogEntry(bytes: Uint8Array): LogEntry {
  if (!(bytes instanceof Uint8Array)) throw malformed('must be bytes');
  if (bytes.length > MAX_LOG_ENTRY_BYTES) {
    throw new CustosError('OVERSIZED_INPUT', `log entry is larger than ${MAX_LOG_ENTRY_BYTES} bytes`);
  }
  let value: unknown;
  try {
    value = decode(bytes, STRICT_DECODE_OPTIONS);
  } catch (cause) {
    throw new CustosError('MALFORMED_LOG_ENTRY', 'log entry is not valid strict CBOR', { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw malformed('must be a CBOR map');
  }
  const m = value as Record<string, unknown>;
  if (m.v !== LOG_ENTRY_VERSION) {
    throw new CustosError('UNSUPPORTED_VERSION', `log entry: version must be ${LOG_ENTRY_VERSION}`);
  }
  const type = m.t;
  if (!isLogEntryType(type)) throw malformed(`"t" must be one of ${LOG_ENTRY_TYPES.join(', ')}`);
  const expected = new Set<string>([...COMMON_KEYS, ...TYPE_KEYS[type]]);
  const keys = Object.keys(m);
  for (const k of keys) if (!expected.has(k)) throw malformed(`unknown key for type ${type}`);
  if (keys.length !== expected.size) throw malformed(`missing keys for type ${type}`);
  const hash = m.h;
  if (!(hash instanceof Uint8Array)) throw malformed('"h" must be a byte string');
  // Copied so a decoded entry never aliases the caller's buffer.
  const common = {
    hash: Uint8Array.from(hash),
    size: num(m, 'sz'),
    actor: str(m, 'act'),
    time: num(m, 'ts'),
  };
  let entry: LogEntry;
  switch (type) {
    case 'archive-record':
      entry = {
        type,
        ...common,
        org: str(m, 'org') as OrgId,
        device: str(m, 'dev') as DeviceId,
        seq: num(m, 'seq'),
        bucket: str(m, 'bkt') as BucketId,
      };
      break;
    case 'relay-receipt':
      entry = { type, ...common, sender: str(m, 'from') as DeviceId, recipient: str(m, 'to') as DeviceId };
      break;
    case 'key-event':
      entry = { type, ...common, kind: str(m, 'kind'), subject: str(m, 'sub') };
      break;
    case 'audit-event':
      entry = { type, ...common, kind: str(m, 'kind') };
      break;
    case 'hold':
      entry = { type, ...common, holdId: str(m, 'hold'), action: str(m, 'op') as 'place' | 'release' };
      break;
    case 'disposition':
      entry = { type, ...common, bucket: str(m, 'bkt') as BucketId, records: num(m, 'n') };
      break;
    case 'archive-gap':
      entry = {
        type,
        ...common,
        org: str(m, 'org') as OrgId,
        device: str(m, 'dev') as DeviceId,
        seq: num(m, 'seq'),
        end: num(m, 'end'),
        reason: str(m, 'why') as GapReason,
      };
      break;
  }
  validateLogEntry(entry, 'MALFORMED_LOG_ENTRY');
  // Canonical check: the one encoding of this value must be exactly the input (catches
  // unsorted keys, non-minimal lengths, floats standing in for integers, trailing bytes).
  if (!bytesEqual(encodeLogEntry(entry), bytes)) {
    throw malformed('is not in deterministic CBOR encoding (RFC 8949 §4.2.1)');
  }
  return entry;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Offset of the second key in every v1 entry: map header, "h" (2 bytes), bstr(32) header (2 bytes), 32 bytes. */
const SECOND_KEY_OFFSET = 37;
/** The bytes every canonical v1 entry starts with after its map header: key "h", then a 32-byte bstr header. */
const HASH_KEY_PREFIX = [0x61, 0x68, 0x58, 0x20] as const;
const TYPE_KEY = 0x74; // "t"
const COUNT_KEY = 0x6e; // "n" (disposition), which sorts between "h" and "t"

/**
 * Where every encoded relay receipt says so: at each part's `offset` its `bytes` — the "h"
 * key's prefix, then the "t" key and the type text — and no other entry has them all. The
 * same bytes {@link peekLogEntryType} reads, so a store can leave receipts out of a read
 * without decoding anything (the search indexer reads the entries other than receipts).
 */
export const RELAY_RECEIPT_MARK: readonly { readonly offset: number; readonly bytes: Uint8Array }[] =
  Object.freeze([
    Object.freeze({ offset: 1, bytes: Uint8Array.from(HASH_KEY_PREFIX) }),
    Object.freeze({
      offset: SECOND_KEY_OFFSET,
      bytes: Uint8Array.from([
        0x61,
        TYPE_KEY,
        0x60 + 'relay-receipt'.length,
        ...Array.from('relay-receipt', (c) => c.charCodeAt(0)),
      ]),
    }),
  ]);

/**
 * The type of an encoded entry read from its fixed canonical prefix ("h", then "n" for a
 * disposition, then "t"), without decoding it; null when the prefix does not have that
 * shape. The rest of the entry is NOT checked: decode it before trusting any field. For
 * passes that skip most entries by type (the search indexer skips relay receipts).
 */
export function peekLogEntryType(bytes: Uint8Array): LogEntryType | null {
  for (let i = 0; i < HASH_KEY_PREFIX.length; i++) if (bytes[1 + i] !== HASH_KEY_PREFIX[i]) return null;
  let at = SECOND_KEY_OFFSET;
  if (bytes[at] === 0x61 && bytes[at + 1] === COUNT_KEY) {
    // Skip the unsigned integer: its head byte gives its length (RFC 8949 §3).
    const head = bytes[at + 2] ?? 0xff;
    const extra = head < 0x18 ? 0 : head <= 0x1b ? 2 ** (head - 0x18) : -1;
    if (extra < 0) return null;
    at += 3 + extra;
  }
  if (bytes[at] !== 0x61 || bytes[at + 1] !== TYPE_KEY) return null;
  const head = bytes[at + 2] ?? 0;
  if (head < 0x60 || head >= 0x78) return null;
  const start = at + 3;
  const end = start + (head - 0x60);
  if (end > bytes.length) return null;
  // Compared byte by byte with each type's name: no string per entry (the search indexer
  // peeks at every relay receipt it skips).
  for (const [type, name] of TYPE_NAME_BYTES) {
    if (name.length !== end - start) continue;
    let i = 0;
    while (i < name.length && bytes[start + i] === name[i]) i++;
    if (i === name.length) return type;
  }
  return null;
}

/** Each entry type with its name's ASCII bytes (peekLogEntryType). */
const TYPE_NAME_BYTES: readonly (readonly [LogEntryType, Uint8Array])[] = LOG_ENTRY_TYPES.map(
  (t) => [t, Uint8Array.from(t, (c) => c.charCodeAt(0))] as const,
);

/** The RFC 9162 leaf hash of an entry: hashLeaf(encoded entry). Encoded input is validated first. */
export function logEntryLeafHash(entry: LogEntry | Uint8Array): Uint8Array {
  if (entry instanceof Uint8Array) {
    decodeLogEntry(entry);
    return hashLeaf(entry);
  }
  return hashLeaf(encodeLogEntry(entry));
}
