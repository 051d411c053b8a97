/**
 * Record headers of one session key, pre-encoded: the hot-path header codec of sealing and
 * opening (docs/archive-format.md §2).
 *
 * Under one session key, org, device, bucket and "skey" never change, so everything in a
 * header but "asz", "bsz", "seq", the tokens and "prev" is the same bytes every time. A
 * template holds those bytes as five segments, written with one copy each when sealing
 * and compared byte for byte when opening:
 *
 *   seg0 asz seg1 bsz seg2 seq seg3 tok-count tokens seg4 prev seg5
 *   seg0 = map(10) "v" 1 "asz"     seg1 = "bkt" bkt "bsz"     seg2 = "dev" dev "org" org "seq"
 *   seg3 = "tok"                   seg4 = "prev" bstr-head(32) seg5 = "skey" bstr(32) skey
 *
 * Invariants the tests pin (header.test.ts, header-template.test.ts):
 * - {@link writeTemplateHeader} writes exactly the bytes of {@link encodeHeader};
 * - {@link matchTemplateHeader} returns a header only for bytes that {@link decodeHeader}
 *   accepts, and then a header equal to decodeHeader's. Anything else — another context,
 *   a malformed or merely unusual header — gives `undefined`, and the caller falls back to
 *   the strict decoder, which names what is wrong. So the fast path never changes what is
 *   accepted or which error is thrown; it only skips work when the header is the expected
 *   shape.
 */
import { CustosError } from '../errors.js';
import { BLIND_TOKEN_LENGTH } from '../blind-index/blind-token.js';
import type { BucketId, DeviceId, OrgId, RecordHash, SessionKeyId } from './ids.js';
import { HASH_LENGTH, isWellFormedId } from './ids.js';
import { MAX_HEADER_BYTES, MAX_RECORD_BYTES, MAX_TOKENS, RECORD_FORMAT_VERSION } from './limits.js';
import { CborWriter, headLength, readHeadAt, writeHead } from './cbor-fast.js';
import type { RecordHeader } from './header.js';
import { DecodedHeader, pooledCopy } from './header.js';

/** The ids and session key id a template is for; ids must already be well formed. */
export interface TemplateContext {
  readonly org: OrgId;
  readonly device: DeviceId;
  readonly bucket: BucketId;
  readonly sessionKeyId: SessionKeyId;
}

/** The constant parts of the headers of one session key, pre-encoded. */
export interface HeaderTemplate {
  readonly org: OrgId;
  readonly device: DeviceId;
  readonly bucket: BucketId;
  readonly seg0: Uint8Array;
  readonly seg1: Uint8Array;
  readonly seg2: Uint8Array;
  readonly seg3: Uint8Array;
  readonly seg4: Uint8Array;
  readonly seg5: Uint8Array;
  /** Total length of the six segments plus the 32-byte "prev". */
  readonly fixedLength: number;
}

const TOKEN_ITEM = 1 + BLIND_TOKEN_LENGTH;
// A 16-byte byte string's head: major type 2, length 16 (< 24, so one byte).
const TOKEN_HEAD = 0x40 | BLIND_TOKEN_LENGTH;
const BSTR = 2;
const UINT = 0;
const ARRAY = 4;
const HEADER_FIELDS = 10;

/** Builds the template of `ctx` with the same writer as the header encoder (hence the same bytes). */
export function headerTemplate(ctx: TemplateContext): HeaderTemplate {
  for (const id of [ctx.org, ctx.device, ctx.bucket]) {
    if (!isWellFormedId(id)) throw new CustosError('INVALID_ARGUMENT', 'template ids must be well formed');
  }
  if (ctx.sessionKeyId.length !== HASH_LENGTH) {
    throw new CustosError('INVALID_ARGUMENT', `a session key id is ${HASH_LENGTH} bytes`);
  }
  const w = new CborWriter(256);
  const seg = (write: (w: CborWriter) => void): Uint8Array => {
    write(w.reset());
    return Uint8Array.from(w.finish());
  };
  const seg0 = seg((w) => w.head(5, HEADER_FIELDS).text('v').uint(RECORD_FORMAT_VERSION).text('asz'));
  const seg1 = seg((w) => w.text('bkt').text(ctx.bucket).text('bsz'));
  const seg2 = seg((w) => w.text('dev').text(ctx.device).text('org').text(ctx.org).text('seq'));
  const seg3 = seg((w) => w.text('tok'));
  const seg4 = seg((w) => w.text('prev').head(BSTR, HASH_LENGTH));
  const seg5 = seg((w) => w.text('skey').bytes(ctx.sessionKeyId));
  const segs = [seg0, seg1, seg2, seg3, seg4, seg5];
  return {
    org: ctx.org,
    device: ctx.device,
    bucket: ctx.bucket,
    seg0,
    seg1,
    seg2,
    seg3,
    seg4,
    seg5,
    fixedLength: segs.reduce((n, s) => n + s.length, HASH_LENGTH),
  };
}

/** Encoded length of `h` (which must be of the template's context). */
export function templateHeaderLength(t: HeaderTemplate, h: RecordHeader): number {
  const n = h.tokens.length;
  return (
    t.fixedLength +
    headLength(h.attachmentBytes) +
    headLength(h.sealedBodyBytes) +
    headLength(h.seq) +
    headLength(n) +
    n * TOKEN_ITEM
  );
}

/**
 * Writes validated header `h` of the template's context into `out` at `at` (room for
 * {@link templateHeaderLength} bytes); returns the offset after it.
 */
export function writeTemplateHeader(t: HeaderTemplate, h: RecordHeader, out: Uint8Array, at: number): number {
  out.set(t.seg0, at);
  at = writeHead(out, at + t.seg0.length, UINT, h.attachmentBytes);
  out.set(t.seg1, at);
  at = writeHead(out, at + t.seg1.length, UINT, h.sealedBodyBytes);
  out.set(t.seg2, at);
  at = writeHead(out, at + t.seg2.length, UINT, h.seq);
  out.set(t.seg3, at);
  const toks = h.tokens;
  at = writeHead(out, at + t.seg3.length, ARRAY, toks.length);
  for (let i = 0; i < toks.length; i++) {
    out[at] = TOKEN_HEAD;
    out.set(toks[i]!, at + 1);
    at += TOKEN_ITEM;
  }
  out.set(t.seg4, at);
  at += t.seg4.length;
  out.set(h.prev, at);
  at += HASH_LENGTH;
  out.set(t.seg5, at);
  return at + t.seg5.length;
}

/** Whether `buf[at..)` starts with `seg`, not reading at or past `end`. */
function matches(buf: Uint8Array, at: number, end: number, seg: Uint8Array): boolean {
  const n = seg.length;
  if (at + n > end) return false;
  for (let i = 0; i < n; i++) if (buf[at + i] !== seg[i]) return false;
  return true;
}

/**
 * Decodes the header at `buf[start..end)` if it is a well-formed header of the template's
 * context (exactly what {@link decodeHeader} would accept, with these ids and session key
 * id); otherwise returns `undefined` without saying why — the caller then runs the strict
 * decoder. The header's byte fields are views into one pooled copy of the header bytes,
 * as with decodeHeader; that copy is returned as `bytes` (the AEAD's associated data).
 */
export function matchTemplateHeader(
  t: HeaderTemplate,
  buf: Uint8Array,
  start: number,
  end: number,
): { header: RecordHeader; bytes: Uint8Array } | undefined {
  if (end - start > MAX_HEADER_BYTES) return undefined;
  let at = start;
  if (!matches(buf, at, end, t.seg0)) return undefined;
  at += t.seg0.length;
  const asz = readHeadAt(buf, at, end, UINT);
  if (asz < 0) return undefined;
  at += headLength(asz);
  if (!matches(buf, at, end, t.seg1)) return undefined;
  at += t.seg1.length;
  const bsz = readHeadAt(buf, at, end, UINT);
  if (bsz < 0 || bsz > MAX_RECORD_BYTES) return undefined;
  at += headLength(bsz);
  if (!matches(buf, at, end, t.seg2)) return undefined;
  at += t.seg2.length;
  const seq = readHeadAt(buf, at, end, UINT);
  if (seq < 0) return undefined;
  at += headLength(seq);
  if (!matches(buf, at, end, t.seg3)) return undefined;
  at += t.seg3.length;
  const n = readHeadAt(buf, at, end, ARRAY);
  if (n < 0 || n > MAX_TOKENS) return undefined;
  at += headLength(n);
  // As decodeHeader: the first token's offset, or 0 without tokens.
  const firstToken = n > 0 ? at + 1 : start;
  if (at + n * TOKEN_ITEM > end) return undefined;
  for (let i = 0; i < n; i++, at += TOKEN_ITEM) {
    if (buf[at] !== TOKEN_HEAD) return undefined;
    if (i > 0) {
      // Strictly ascending: the first differing byte must be larger; equal tokens fail.
      const prevAt = at + 1 - TOKEN_ITEM;
      let j = 0;
      while (j < BLIND_TOKEN_LENGTH && buf[prevAt + j] === buf[at + 1 + j]) j++;
      if (j === BLIND_TOKEN_LENGTH || buf[prevAt + j]! > buf[at + 1 + j]!) return undefined;
    }
  }
  if (!matches(buf, at, end, t.seg4)) return undefined;
  at += t.seg4.length;
  const prevAt = at;
  at += HASH_LENGTH;
  if (!matches(buf, at, end, t.seg5) || at + t.seg5.length !== end) return undefined;
  if (seq === 0) {
    for (let i = 0; i < HASH_LENGTH; i++) if (buf[prevAt + i] !== 0) return undefined;
  }
  const copy = pooledCopy(buf, start, end);
  const skeyAt = end - start - HASH_LENGTH;
  const header = new DecodedHeader(
    RECORD_FORMAT_VERSION,
    t.org,
    t.device,
    t.bucket,
    seq,
    copy.subarray(prevAt - start, prevAt - start + HASH_LENGTH) as RecordHash,
    copy.subarray(skeyAt, skeyAt + HASH_LENGTH) as SessionKeyId,
    copy,
    firstToken - start,
    n,
    bsz,
    asz,
  );
  return { header, bytes: copy };
}
