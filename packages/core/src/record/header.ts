/**
 * The cleartext record header (docs/archive-format.md §2): only what the server must see.
 *
 * Deterministic CBOR map with text keys, the ten below always, in RFC 8949 §4.2.1 order:
 *   "v" uint 1 | "asz" uint | ["att" [+ tstr]] | "bkt" tstr | "bsz" uint | "dev" tstr |
 *   "org" tstr | "seq" uint | "tok" [* bstr(16)] ascending, unique | "prev" bstr(32) |
 *   "skey" bstr(32)
 * "att" (the blob ids of the body's attachments, ascending, unique, 64 lowercase hex each) is
 * present exactly when the record lists at least one: a header without attachments is
 * byte for byte what it was before the field existed. The server keeps a blob while a
 * record lists it (docs/operations.md, "Blobs").
 *
 * The header is encoded and parsed by a schema-specific codec because it sits on the hot
 * path of sealing, opening and server ingest; header.test.ts proves that the encoder
 * writes exactly what cborg's RFC 8949 encoder writes, and that the parser accepts exactly
 * what cborg's strict decoder plus the canonical check accepts. Sealing and opening go one
 * step further with header-template.ts (the constant parts of one session key's headers
 * pre-encoded), which header-template.test.ts holds to this codec byte for byte.
 */
import { CustosError } from '../errors.js';
import { BLIND_TOKEN_LENGTH } from '../blind-index/blind-token.js';
import type { BucketId, DeviceId, OrgId, RecordHash, SessionKeyId } from './ids.js';
import { HASH_LENGTH, isWellFormedId } from './ids.js';
import {
  MAX_HEADER_BLOB_IDS,
  MAX_HEADER_BYTES,
  MAX_RECORD_BYTES,
  MAX_SEQUENCE,
  MAX_TOKENS,
  RECORD_FORMAT_VERSION,
} from './limits.js';
import { CborReader, CborWriter, compareBytes } from './cbor-fast.js';
import { ByteSlab } from './byte-slab.js';

/** A decoded record header. */
export interface RecordHeader {
  /** Format version; 1. */
  readonly version: number;
  readonly org: OrgId;
  readonly device: DeviceId;
  readonly bucket: BucketId;
  /** Per-device sequence number, from 0. */
  readonly seq: number;
  /** Hash of the device's previous record; all zero for seq 0. */
  readonly prev: RecordHash;
  /** SHA-256 of the wrapped session key the body is sealed under. */
  readonly sessionKeyId: SessionKeyId;
  /** Blind-index tokens, 16 bytes each, ascending and unique. */
  readonly tokens: readonly Uint8Array[];
  /** Length of the sealed body in bytes (salt + ciphertext + tag). */
  readonly sealedBodyBytes: number;
  /** Sum of the sizes of the attachments the body references (the blobs are stored apart). */
  readonly attachmentBytes: number;
  /**
   * Blob ids (64 lowercase hex) of the attachments the body references, ascending and unique
   * ("att"); absent or empty when it lists none (an empty list is encoded as no field).
   */
  readonly blobIds?: readonly string[] | undefined;
}

/** A blob id: the SHA-256 of the encrypted blob as 64 lowercase hex digits (docs/relay.md, "Blobs"). */
export const BLOB_ID_REGEX = /^[0-9a-f]{64}$/;
/** Length of a blob id in characters. */
const BLOB_ID_LENGTH = 64;

// Keys in deterministic order; the reader and writer walk this list ("att" is optional).
const KEYS = ['v', 'asz', 'att', 'bkt', 'bsz', 'dev', 'org', 'seq', 'tok', 'prev', 'skey'] as const;
/** Fields of a header that lists no blob ids. */
const REQUIRED_FIELDS = KEYS.length - 1;

const malformed = (what: string): CustosError =>
  new CustosError('MALFORMED_RECORD', `record header: ${what}`);

const isUint = (n: unknown, max: number): n is number =>
  Number.isSafeInteger(n) && (n as number) >= 0 && (n as number) <= max;

// Array.isArray narrows to any[]; this keeps the elements unknown.
const isList = (v: unknown): v is readonly unknown[] => Array.isArray(v);

/** Checks every field of `h`; throws MALFORMED_RECORD naming the first bad one. */
export function validateHeader(h: RecordHeader): void {
  if (!isWellFormedId(h.org)) throw malformed('"org" is not a well-formed id');
  if (!isWellFormedId(h.device)) throw malformed('"dev" is not a well-formed id');
  if (!isWellFormedId(h.bucket)) throw malformed('"bkt" is not a well-formed id');
  validateHeaderExceptIds(h);
}

/**
 * Whether `tokens` are already what a header requires: an array of at most MAX_TOKENS, each a
 * 16-byte Uint8Array, strictly ascending. When true, {@link canonicalTokens} returns them
 * as they are and the token checks of {@link validateHeaderExceptIds} pass, so the sealer
 * checks them once instead of twice.
 */
export function areHeaderTokens(tokens: readonly Uint8Array[]): boolean {
  if (!isList(tokens)) return false;
  const n = tokens.length;
  if (n > MAX_TOKENS) return false;
  let prev: Uint8Array | undefined;
  for (let i = 0; i < n; i++) {
    const t: unknown = tokens[i];
    if (!(t instanceof Uint8Array) || t.length !== BLIND_TOKEN_LENGTH) return false;
    if (prev !== undefined) {
      let j = 0;
      while (j < BLIND_TOKEN_LENGTH && prev[j] === t[j]) j++;
      if (j === BLIND_TOKEN_LENGTH || prev[j]! > t[j]!) return false;
    }
    prev = t;
  }
  return true;
}

/**
 * {@link validateHeader} without the id checks, for callers whose ids are already checked;
 * `tokensChecked` skips the token checks when {@link areHeaderTokens} already passed.
 */
export function validateHeaderExceptIds(h: RecordHeader, tokensChecked = false): void {
  if (h.version !== RECORD_FORMAT_VERSION) {
    throw new CustosError(
      'UNSUPPORTED_VERSION',
      `record format version ${String(h.version)} is not supported (want 1)`,
    );
  }
  if (!isUint(h.seq, MAX_SEQUENCE)) throw malformed('"seq" is not an integer in 0..2^53-1');
  if (!(h.prev instanceof Uint8Array) || h.prev.length !== HASH_LENGTH)
    throw malformed('"prev" is not 32 bytes');
  if (h.seq === 0 && h.prev.some((b) => b !== 0))
    throw malformed('"prev" of sequence number 0 must be all zero');
  if (!(h.sessionKeyId instanceof Uint8Array) || h.sessionKeyId.length !== HASH_LENGTH) {
    throw malformed('"skey" is not 32 bytes');
  }
  if (!tokensChecked) validateTokens(h.tokens);
  if (!isUint(h.sealedBodyBytes, MAX_RECORD_BYTES)) throw malformed('"bsz" is not a valid size');
  if (!isUint(h.attachmentBytes, MAX_SEQUENCE)) throw malformed('"asz" is not a valid size');
  if (h.blobIds !== undefined) validateBlobIds(h.blobIds);
}

function validateBlobIds(ids: readonly unknown[]): void {
  if (!isList(ids) || ids.length > MAX_HEADER_BLOB_IDS) {
    throw malformed(`"att" is not a list of at most ${MAX_HEADER_BLOB_IDS} blob ids`);
  }
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (typeof id !== 'string' || !BLOB_ID_REGEX.test(id)) {
      throw malformed(`blob id ${i} is not 64 lowercase hex digits`);
    }
    // Lowercase hex compares as text exactly as its bytes do.
    if (i > 0 && (ids[i - 1] as string) >= id)
      throw malformed(`blob ids are not ascending and unique at ${i}`);
  }
}

/** Sorts and de-duplicates blob ids into the order a header requires. */
export function canonicalBlobIds(ids: readonly string[]): readonly string[] {
  return [...new Set(ids)].sort();
}

/**
 * The blob ids a body's attachments name (those that are blob ids at all) that header `h` does
 * not list in "att", sorted: what a console reports when it opens a record (docs/exports.md).
 * A header that lists none returns every such id (a client older than the field, or a device
 * that left them out: the server then keeps those blobs only under its older-client rule).
 */
export function unlistedBlobIds(h: RecordHeader, bodyBlobIds: readonly string[]): string[] {
  const listed = new Set(h.blobIds ?? []);
  return canonicalBlobIds(bodyBlobIds.filter((id) => BLOB_ID_REGEX.test(id) && !listed.has(id))) as string[];
}

/** Whether `h` lists blob ids, i.e. its encoding has the "att" field. */
export function listsBlobIds(h: RecordHeader): boolean {
  return h.blobIds !== undefined && h.blobIds.length > 0;
}

function validateTokens(toks: readonly unknown[]): void {
  if (!isList(toks) || toks.length > MAX_TOKENS) {
    throw malformed(`"tok" is not a list of at most ${MAX_TOKENS}`);
  }
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (!(t instanceof Uint8Array) || t.length !== BLIND_TOKEN_LENGTH) {
      throw malformed(`token ${i} is not ${BLIND_TOKEN_LENGTH} bytes`);
    }
    if (i > 0 && compareBytes(toks[i - 1] as Uint8Array, t) >= 0) {
      throw malformed(`tokens are not ascending and unique at ${i}`);
    }
  }
}

/** Sorts and de-duplicates tokens into the order a header requires (as is, when they already are). */
export function canonicalTokens(tokens: readonly Uint8Array[]): readonly Uint8Array[] {
  let ordered = true;
  for (let i = 1; i < tokens.length && ordered; i++) ordered = compareBytes(tokens[i - 1]!, tokens[i]!) < 0;
  if (ordered) return tokens;
  const sorted = [...tokens].sort(compareBytes);
  return sorted.filter((t, i) => i === 0 || compareBytes(sorted[i - 1]!, t) !== 0);
}

// Each key pre-encoded as a CBOR text string.
const K_BYTES = Object.fromEntries(
  KEYS.map((k) => [k, Uint8Array.from([0x60 | k.length, ...Array.from(k, (c) => c.charCodeAt(0))])]),
) as Record<(typeof KEYS)[number], Uint8Array>;

// One scratch writer: encoding is synchronous, and encodeHeader copies out before returning.
const SCRATCH = new CborWriter(4096);

/** Encodes a header (after validating it) as deterministic CBOR. */
export function encodeHeader(h: RecordHeader): Uint8Array {
  validateHeader(h);
  const w = SCRATCH.reset();
  const blobIds = listsBlobIds(h) ? h.blobIds! : undefined;
  w.head(5, blobIds === undefined ? REQUIRED_FIELDS : KEYS.length);
  w.raw(K_BYTES.v).uint(h.version);
  w.raw(K_BYTES.asz).uint(h.attachmentBytes);
  if (blobIds !== undefined) {
    w.raw(K_BYTES.att).head(4, blobIds.length);
    for (const id of blobIds) w.text(id);
  }
  w.raw(K_BYTES.bkt).text(h.bucket);
  w.raw(K_BYTES.bsz).uint(h.sealedBodyBytes);
  w.raw(K_BYTES.dev).text(h.device);
  w.raw(K_BYTES.org).text(h.org);
  w.raw(K_BYTES.seq).uint(h.seq);
  w.raw(K_BYTES.tok).head(4, h.tokens.length);
  for (const t of h.tokens) w.bytes(t);
  w.raw(K_BYTES.prev).bytes(h.prev);
  w.raw(K_BYTES.skey).bytes(h.sessionKeyId);
  return Uint8Array.from(w.finish());
}

/**
 * A decoded header whose tokens, already checked in place, become arrays only when read:
 * openers rarely need them, and a dozen small arrays cost more than the whole decode.
 * Built only by this module's decoder and header-template.ts's, after full validation.
 */
export class DecodedHeader implements RecordHeader {
  #tokens: readonly Uint8Array[] | undefined;
  readonly #buf: Uint8Array;
  readonly #firstToken: number;
  readonly #tokenCount: number;

  constructor(
    readonly version: number,
    readonly org: OrgId,
    readonly device: DeviceId,
    readonly bucket: BucketId,
    readonly seq: number,
    readonly prev: RecordHash,
    readonly sessionKeyId: SessionKeyId,
    buf: Uint8Array,
    firstToken: number,
    tokenCount: number,
    readonly sealedBodyBytes: number,
    readonly attachmentBytes: number,
    readonly blobIds?: readonly string[],
  ) {
    this.#buf = buf;
    this.#firstToken = firstToken;
    this.#tokenCount = tokenCount;
  }

  /** The tokens, as views into the header copy (each is a 1-byte head then 16 bytes). */
  get tokens(): readonly Uint8Array[] {
    if (this.#tokens === undefined) {
      const step = BLIND_TOKEN_LENGTH + 1;
      const buf = this.#buf;
      const first = this.#firstToken;
      this.#tokens = Array.from({ length: this.#tokenCount }, (_, i) =>
        buf.subarray(first + i * step, first + i * step + BLIND_TOKEN_LENGTH),
      );
    }
    return this.#tokens;
  }
}

// Header copies of decoded records (see byte-slab.ts for why not one ArrayBuffer each).
const HEADER_COPIES = new ByteSlab();

/**
 * Copies `bytes[start..end)` (all of `bytes` by default) into a fresh plain Uint8Array
 * carved from a shared slab: a fresh ArrayBuffer per header costs more than the whole
 * decode (an off-heap allocation and GC pressure).
 */
export function pooledCopy(bytes: Uint8Array, start = 0, end = bytes.length): Uint8Array {
  return HEADER_COPIES.copyOf(bytes, start, end);
}

/**
 * Strictly decodes header bytes. Throws OVERSIZED_INPUT, UNSUPPORTED_VERSION or
 * MALFORMED_RECORD (naming the first thing wrong); never anything else.
 */
export function decodeHeader(bytes: Uint8Array): RecordHeader {
  if (bytes.length > MAX_HEADER_BYTES) {
    throw new CustosError('OVERSIZED_INPUT', `record header exceeds ${MAX_HEADER_BYTES} bytes`);
  }
  // One copy of the input; tokens are checked in place and materialised only when read.
  const r = new CborReader(pooledCopy(bytes), 'record header', false);
  const fields = r.head(5);
  if (fields !== REQUIRED_FIELDS && fields !== KEYS.length)
    throw malformed(`must be a map of exactly ${REQUIRED_FIELDS} fields, or ${KEYS.length} with "att"`);
  r.key('v');
  const version = r.uint();
  if (version !== RECORD_FORMAT_VERSION) {
    throw new CustosError(
      'UNSUPPORTED_VERSION',
      `record format version ${version} is not supported (want 1)`,
    );
  }
  r.key('asz');
  const attachmentBytes = r.uint();
  const blobIds = fields === KEYS.length ? readBlobIds(r) : undefined;
  r.key('bkt');
  const bucket = r.id('bkt') as BucketId;
  r.key('bsz');
  const sealedBodyBytes = r.uint();
  if (sealedBodyBytes > MAX_RECORD_BYTES) throw malformed('"bsz" is not a valid size');
  r.key('dev');
  const device = r.id('dev') as DeviceId;
  r.key('org');
  const org = r.id('org') as OrgId;
  r.key('seq');
  const seq = r.uint();
  r.key('tok');
  const n = r.head(4);
  if (n > MAX_TOKENS) throw malformed(`more than ${MAX_TOKENS} tokens`);
  const buf = r.buffer;
  const firstToken = n > 0 ? r.fixedBytes(BLIND_TOKEN_LENGTH, 'token 0') : 0;
  for (let i = 1, prevAt = firstToken; i < n; i++) {
    const at = r.fixedBytes(BLIND_TOKEN_LENGTH, `token ${i}`);
    let j = 0;
    while (j < BLIND_TOKEN_LENGTH && buf[prevAt + j] === buf[at + j]) j++;
    if (j === BLIND_TOKEN_LENGTH || buf[prevAt + j]! > buf[at + j]!) {
      throw malformed(`tokens are not ascending and unique at ${i}`);
    }
    prevAt = at;
  }
  r.key('prev');
  const prevAt = r.fixedBytes(HASH_LENGTH, '"prev"');
  r.key('skey');
  const skeyAt = r.fixedBytes(HASH_LENGTH, '"skey"');
  r.end();
  const prev = buf.subarray(prevAt, prevAt + HASH_LENGTH) as RecordHash;
  if (seq === 0) {
    for (let i = 0; i < HASH_LENGTH; i++) {
      if (prev[i] !== 0) throw malformed('"prev" of sequence number 0 must be all zero');
    }
  }
  return new DecodedHeader(
    version,
    org,
    device,
    bucket,
    seq,
    prev,
    buf.subarray(skeyAt, skeyAt + HASH_LENGTH) as SessionKeyId,
    buf,
    firstToken,
    n,
    sealedBodyBytes,
    attachmentBytes,
    blobIds,
  );
}

/** Reads the "att" field: 1..MAX_HEADER_BLOB_IDS blob ids, ascending and unique. */
function readBlobIds(r: CborReader): readonly string[] {
  r.key('att');
  const n = r.head(4);
  if (n === 0) throw malformed('"att" is present but empty (a header without blob ids has no "att")');
  if (n > MAX_HEADER_BLOB_IDS) throw malformed(`more than ${MAX_HEADER_BLOB_IDS} blob ids`);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = r.text();
    if (id.length !== BLOB_ID_LENGTH || !BLOB_ID_REGEX.test(id))
      throw malformed(`blob id ${i} is not 64 lowercase hex digits`);
    if (i > 0 && ids[i - 1]! >= id) throw malformed(`blob ids are not ascending and unique at ${i}`);
    ids.push(id);
  }
  return ids;
}
