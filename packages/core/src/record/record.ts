/**
 * Whole archive records (docs/archive-format.md §1, §5): framing, sealing, opening, hashing.
 *
 *   record      = CBOR array(2) [ bstr header_bytes, bstr sealed_body ]
 *   sealed_body = salt(16) || AES-256-GCM ciphertext || tag(16), aad = header_bytes
 *   record_hash = SHA-256(record)
 *
 * The header travels as a byte string so that its exact bytes (the AEAD associated data
 * and part of the hash) are what every reader sees, in every language.
 */
import { CustosError } from '../errors.js';
import { sha256NativeInto } from '../crypto/sha256-native.js';
import type { SessionOpener, SessionSealer } from '../seal/session-key.js';
import { SEALED_BODY_OVERHEAD } from '../seal/seal-params.js';
import type { BucketId, DeviceId, OrgId, RecordHash } from './ids.js';
import { HASH_LENGTH } from './ids.js';
import { ByteSlab, RecordSlab } from './byte-slab.js';
import { bytesEqual } from './deterministic-cbor.js';
import { CborReader, headLength, readHeadAt, writeHead } from './cbor-fast.js';
import type { RecordHeader } from './header.js';
import {
  areHeaderTokens,
  canonicalBlobIds,
  canonicalTokens,
  decodeHeader,
  encodeHeader,
  validateHeaderExceptIds,
} from './header.js';
import type { HeaderTemplate } from './header-template.js';
import {
  headerTemplate,
  matchTemplateHeader,
  templateHeaderLength,
  writeTemplateHeader,
} from './header-template.js';
import type { RecordBody } from './body.js';
import { decodeBody, encodeBody } from './body.js';
import { MAX_BODY_BYTES, MAX_RECORD_BYTES, RECORD_FORMAT_VERSION } from './limits.js';

/** What a device supplies for a header; the sealer fills in version, session key id and body size. */
export interface RecordHeaderInput {
  readonly org: OrgId;
  readonly device: DeviceId;
  readonly bucket: BucketId;
  readonly seq: number;
  readonly prev: RecordHash;
  /** Blind tokens in any order; they are sorted and de-duplicated. */
  readonly tokens: readonly Uint8Array[];
  readonly attachmentBytes: number;
  /**
   * Blob ids of the attachments the body references, in any order (sorted and de-duplicated
   * into the header's "att"); omitted or empty when it references none.
   */
  readonly blobIds?: readonly string[];
}

/** A sealed record: its exact bytes, its hash and its decoded header. */
export interface SealedRecord {
  readonly bytes: Uint8Array;
  readonly hash: RecordHash;
  readonly header: RecordHeader;
}

/** A framed record split into its parts, header decoded, body still sealed. */
export interface ParsedRecord {
  readonly header: RecordHeader;
  readonly headerBytes: Uint8Array;
  readonly sealedBody: Uint8Array;
}

// Record hashes, 32 bytes each, carved from shared slabs (one object per hash).
const HASHES = new ByteSlab();
// Sealed records' bytes, from 64 KiB slabs rather than node's 8 KiB Buffer pool.
const RECORDS = new RecordSlab();

/** SHA-256 of a record's exact bytes. */
export function recordHashOf(recordBytes: Uint8Array): RecordHash {
  // Native: a record is over 1 KiB, where node:crypto's one call beats sha256.ts.
  const h = HASHES.take(HASH_LENGTH);
  sha256NativeInto(recordBytes, h, 0);
  return h as RecordHash;
}

const BSTR = 2;
const writeBstrHead = (out: Uint8Array, at: number, n: number): number => writeHead(out, at, BSTR, n);
// CBOR array(2): the first byte of every record.
const RECORD_ARRAY_HEAD = 0x82;

// One header template per sealer or opener, built on first use (ids and key id never change).
const templates = new WeakMap<SessionSealer | SessionOpener, HeaderTemplate>();

function templateOf(handle: SessionSealer | SessionOpener): HeaderTemplate {
  let t = templates.get(handle);
  if (t === undefined) {
    const ctx = handle.context;
    t = headerTemplate({ org: ctx.org, device: ctx.device, bucket: ctx.bucket, sessionKeyId: handle.keyId });
    templates.set(handle, t);
  }
  return t;
}

/** Frames header bytes and a sealed body as a record: CBOR [bstr, bstr]. */
export function frameRecord(headerBytes: Uint8Array, sealedBody: Uint8Array): Uint8Array {
  const total =
    1 +
    headLength(headerBytes.length) +
    headerBytes.length +
    headLength(sealedBody.length) +
    sealedBody.length;
  const out = Buffer.allocUnsafe(total);
  out[0] = RECORD_ARRAY_HEAD;
  let at = writeBstrHead(out, 1, headerBytes.length);
  out.set(headerBytes, at);
  at = writeBstrHead(out, at + headerBytes.length, sealedBody.length);
  out.set(sealedBody, at);
  return out;
}

/**
 * Splits a record and strictly decodes its header. Throws OVERSIZED_INPUT,
 * UNSUPPORTED_VERSION or MALFORMED_RECORD; the body is not opened.
 */
export function parseRecord(bytes: Uint8Array): ParsedRecord {
  if (bytes.length > MAX_RECORD_BYTES)
    throw new CustosError('OVERSIZED_INPUT', `record exceeds ${MAX_RECORD_BYTES} bytes`);
  // Views into `bytes`, not a copy: the header is copied by its own decoder, and the
  // sealed body is only read (by the AEAD) while the caller still holds the record.
  const r = new CborReader(bytes, 'record', false);
  if (r.head(4) !== 2)
    throw new CustosError('MALFORMED_RECORD', 'record: must be an array of [header, sealed body]');
  const headerBytes = r.bytes();
  const sealedBody = r.bytes();
  r.end();
  const header = decodeHeader(headerBytes);
  if (header.sealedBodyBytes !== sealedBody.length) {
    throw new CustosError(
      'MALFORMED_RECORD',
      `record: header says the sealed body is ${header.sealedBodyBytes} bytes, it is ${sealedBody.length}`,
    );
  }
  if (sealedBody.length < SEALED_BODY_OVERHEAD) {
    throw new CustosError(
      'MALFORMED_RECORD',
      `record: a sealed body is at least ${SEALED_BODY_OVERHEAD} bytes`,
    );
  }
  return { header, headerBytes, sealedBody };
}

// Scratch for the header being sealed, and a view of its first `n` bytes kept for the next
// record of the same header length (the usual case). Headers are public; sealing is
// synchronous, so one scratch serves every sealer.
let scratch = new Uint8Array(1024);
let scratchView = scratch.subarray(0, 0);

function headerScratch(n: number): Uint8Array {
  if (n > scratch.length) scratch = new Uint8Array(Math.max(n, 2 * scratch.length));
  if (scratchView.length !== n || scratchView.buffer !== scratch.buffer) scratchView = scratch.subarray(0, n);
  return scratchView;
}

/** Seals already-encoded body bytes into a record (the hot path; {@link sealRecord} encodes first). */
export function sealRecordBytes(
  sealer: SessionSealer,
  input: RecordHeaderInput,
  bodyBytes: Uint8Array,
): SealedRecord {
  if (bodyBytes.length > MAX_BODY_BYTES)
    throw new CustosError('OVERSIZED_INPUT', `record body exceeds ${MAX_BODY_BYTES} bytes`);
  const ctx = sealer.context;
  if (input.org !== ctx.org || input.device !== ctx.device || input.bucket !== ctx.bucket) {
    throw new CustosError('INVALID_ARGUMENT', 'record org, device and bucket must match the session key');
  }
  // Tokens as a header needs them (the usual case) are checked once, here.
  const tokensReady = areHeaderTokens(input.tokens);
  const blobIds =
    input.blobIds === undefined || input.blobIds.length === 0 ? undefined : canonicalBlobIds(input.blobIds);
  const header: RecordHeader = {
    version: RECORD_FORMAT_VERSION,
    org: input.org,
    device: input.device,
    bucket: input.bucket,
    seq: input.seq,
    prev: input.prev,
    sessionKeyId: sealer.keyId,
    tokens: tokensReady ? input.tokens : canonicalTokens(input.tokens),
    sealedBodyBytes: bodyBytes.length + SEALED_BODY_OVERHEAD,
    attachmentBytes: input.attachmentBytes,
    ...(blobIds === undefined ? {} : { blobIds }),
  };
  validateHeaderExceptIds(header, tokensReady);
  // Assemble the record in one buffer: 0x82, bstr(header), bstr(salt || ct || tag). The
  // header is written from the session key's template (the ids equal the session key's,
  // which were checked when it was wrapped), and the body is sealed in place after it. A
  // header listing blob ids has a field the template lacks: the few records with attachments
  // take the general encoder.
  const template = templateOf(sealer);
  const listing = blobIds === undefined ? undefined : encodeHeader(header);
  const headerLength = listing?.length ?? templateHeaderLength(template, header);
  const sealedLength = header.sealedBodyBytes;
  const bytes = RECORDS.take(
    1 + headLength(headerLength) + headerLength + headLength(sealedLength) + sealedLength,
  );
  bytes[0] = RECORD_ARRAY_HEAD;
  const headerAt = writeBstrHead(bytes, 1, headerLength);
  // Encoded in scratch (whose view is the AEAD's aad, without a new view per record), then copied.
  const headerBytes = headerScratch(headerLength);
  if (listing === undefined) writeTemplateHeader(template, header, headerBytes, 0);
  else headerBytes.set(listing);
  bytes.set(headerBytes, headerAt);
  sealer.sealBodyInto(
    bytes,
    writeBstrHead(bytes, headerAt + headerLength, sealedLength),
    headerBytes,
    bodyBytes,
  );
  return { bytes, hash: recordHashOf(bytes), header };
}

/** Encodes and seals a body into a record. */
export function sealRecord(sealer: SessionSealer, input: RecordHeaderInput, body: RecordBody): SealedRecord {
  return sealRecordBytes(sealer, input, encodeBody(body));
}

/**
 * Opens a record to its header and plaintext body bytes. Throws the parse errors of
 * {@link parseRecord}, HASH_MISMATCH when the record names another session key,
 * MALFORMED_RECORD when its org, device or bucket differ from the session key's, and
 * DECRYPTION_FAILED when the body does not authenticate.
 */
export function openRecordBytes(
  opener: SessionOpener,
  recordBytes: Uint8Array,
): { header: RecordHeader; bodyBytes: Uint8Array } {
  return openExpected(opener, recordBytes) ?? openRecordBytesStrict(opener, recordBytes);
}

/**
 * The fast path of {@link openRecordBytes}: a record of this opener's session key in the
 * expected shape, framing and header checked against the opener's template in one pass.
 * Returns `undefined` wherever {@link openRecordBytesStrict} would throw before decrypting
 * (and for anything merely unusual), so that the strict path then names the problem; where
 * it returns, the strict path would have returned the same header and opened the same body.
 */
function openExpected(
  opener: SessionOpener,
  bytes: Uint8Array,
): { header: RecordHeader; bodyBytes: Uint8Array } | undefined {
  const end = bytes.length;
  if (end > MAX_RECORD_BYTES || end === 0 || bytes[0] !== RECORD_ARRAY_HEAD) return undefined;
  const headerLength = readHeadAt(bytes, 1, end, BSTR);
  if (headerLength < 0) return undefined;
  const headerAt = 1 + headLength(headerLength);
  const headerEnd = headerAt + headerLength;
  if (headerEnd > end) return undefined;
  const sealedLength = readHeadAt(bytes, headerEnd, end, BSTR);
  if (sealedLength < SEALED_BODY_OVERHEAD) return undefined;
  const sealedAt = headerEnd + headLength(sealedLength);
  if (sealedAt + sealedLength !== end) return undefined;
  const m = matchTemplateHeader(templateOf(opener), bytes, headerAt, headerEnd);
  if (m === undefined || m.header.sealedBodyBytes !== sealedLength) return undefined;
  return { header: m.header, bodyBytes: opener.openBodyAt(m.bytes, bytes, sealedAt, end) };
}

/**
 * {@link openRecordBytes} by {@link parseRecord} and field-by-field checks, naming any
 * problem: the reference the fast path is tested against (not exported from the package).
 */
export function openRecordBytesStrict(
  opener: SessionOpener,
  recordBytes: Uint8Array,
): { header: RecordHeader; bodyBytes: Uint8Array } {
  const p = parseRecord(recordBytes);
  if (!bytesEqual(p.header.sessionKeyId, opener.keyId)) {
    throw new CustosError('HASH_MISMATCH', 'record is sealed under a different session key');
  }
  const ctx = opener.context;
  if (p.header.org !== ctx.org || p.header.device !== ctx.device || p.header.bucket !== ctx.bucket) {
    throw new CustosError('MALFORMED_RECORD', 'record org, device or bucket differ from its session key');
  }
  return { header: p.header, bodyBytes: opener.openBody(p.headerBytes, p.sealedBody) };
}

/** Opens a record and decodes its body. */
export function openRecord(
  opener: SessionOpener,
  recordBytes: Uint8Array,
): { header: RecordHeader; body: RecordBody } {
  const { header, bodyBytes } = openRecordBytes(opener, recordBytes);
  return { header, body: decodeBody(bodyBytes) };
}
