/**
 * The sealed record body (docs/archive-format.md §3): everything about one message event.
 * Deterministic CBOR map with text keys; optional fields are absent (never null), lists are
 * always present (possibly empty). Encoded with cborg's RFC 8949 options and decoded with
 * the strict decoder plus the canonical check, so one body has exactly one encoding.
 */
import { CustosError } from '../errors.js';
import { HASH_LENGTH } from './ids.js';
import { BodyWriter } from './body-writer.js';
import { decodeStrict, isCborMap } from './deterministic-cbor.js';
import { MAX_BODY_BYTES, MAX_BODY_LIST, MAX_SEQUENCE, MAX_SHORT_TEXT_BYTES } from './limits.js';

/** Whether this device sent or received the event. */
export type Direction = 'sent' | 'received';

/** What happened. New kinds need a new format version. */
export const EVENT_KINDS = [
  'message',
  'edit',
  'delete',
  'reaction',
  'receipt',
  'group-change',
  'timer-change',
  'call',
] as const;
/** One of {@link EVENT_KINDS}. */
export type EventKind = (typeof EVENT_KINDS)[number];

/** An encrypted attachment as the message carries it: where the blob is and how to open and check it. */
export interface AttachmentRef {
  readonly blobId: string;
  /** The attachment's own content key. MUST NOT log: key material. */
  readonly key: Uint8Array;
  /** SHA-256 of the encrypted blob. */
  readonly digest: Uint8Array;
  readonly size: number;
  readonly contentType: string;
  readonly fileName?: string;
}

/** A decoded record body. Times are milliseconds since the Unix epoch (UTC). */
export interface RecordBody {
  readonly direction: Direction;
  readonly kind: EventKind;
  /** Stable message id; edits, deletes and reactions name the message they act on by it. */
  readonly messageId: string;
  readonly conversationId: string;
  readonly participants: readonly string[];
  readonly sender: string;
  readonly sentAt: number;
  readonly receivedAt?: number;
  readonly serverAt?: number;
  readonly text?: string;
  readonly attachments: readonly AttachmentRef[];
  readonly edits?: string;
  readonly replyTo?: string;
  readonly deletes?: string;
  readonly reactsTo?: string;
  /** The reaction emoji (kind reaction; empty string removes a reaction). */
  readonly reaction?: string;
  /** Members added and removed (kind group-change). */
  readonly added?: readonly string[];
  readonly removed?: readonly string[];
  /** Disappearing-message timer in seconds in force for this event (0 = off). */
  readonly timerSeconds?: number;
  /** True when the conversation showed every participant that it is archived. */
  readonly archiveNotice: boolean;
  /** SHA-256 hashes of the relay envelopes this event was sent or received in. */
  readonly envelopeHashes: readonly Uint8Array[];
}

/** Longest message text in UTF-8 bytes (the body limit minus room for the other fields). */
export const MAX_TEXT_BYTES = MAX_BODY_BYTES - 64 * 1024;
const ATTACHMENT_KEY_MIN = 32;
const ATTACHMENT_KEY_MAX = 64;

// Body field name -> CBOR key. Short keys keep bodies small; the doc lists them.
const K = {
  direction: 'dir',
  kind: 'kind',
  messageId: 'mid',
  conversationId: 'conv',
  participants: 'parts',
  sender: 'from',
  sentAt: 'sent',
  receivedAt: 'recv',
  serverAt: 'srv',
  text: 'text',
  attachments: 'att',
  edits: 'edits',
  replyTo: 'reply',
  deletes: 'dels',
  reactsTo: 'reacts',
  reaction: 'emoji',
  added: 'added',
  removed: 'removed',
  timerSeconds: 'timer',
  archiveNotice: 'notice',
  envelopeHashes: 'env',
} as const;
const A = {
  blobId: 'id',
  key: 'key',
  digest: 'dig',
  size: 'size',
  contentType: 'type',
  fileName: 'name',
} as const;
const REQUIRED = ['dir', 'kind', 'mid', 'conv', 'parts', 'from', 'sent', 'att', 'notice', 'env'];
const KNOWN = new Set<string>(Object.values(K));
const A_REQUIRED = ['id', 'key', 'dig', 'size', 'type'];
const A_KNOWN = new Set<string>(Object.values(A));
/** Writes checked body maps (the same bytes as encodeDeterministic, without its general machinery). */
const writer = new BodyWriter(Object.values(K), Object.values(A));

const bad = (what: string): never => {
  throw new CustosError('MALFORMED_RECORD', `record body: ${what}`);
};
const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');
const isShortText = (v: unknown, max = MAX_SHORT_TEXT_BYTES): v is string =>
  typeof v === 'string' && v.length > 0 && utf8Length(v) <= max;
const isTime = (v: unknown): v is number =>
  Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= MAX_SEQUENCE;

function checkTextList(v: unknown, name: string): asserts v is string[] {
  if (!Array.isArray(v) || v.length > MAX_BODY_LIST)
    bad(`"${name}" is not a list of at most ${MAX_BODY_LIST}`);
  (v as unknown[]).forEach((x, i) => {
    if (!isShortText(x))
      bad(`"${name}"[${i}] is not a non-empty text of at most ${MAX_SHORT_TEXT_BYTES} bytes`);
  });
}

function checkAttachment(a: unknown, i: number): void {
  if (!isCborMap(a)) return bad(`attachment ${i} is not a map`);
  for (const k of Object.keys(a)) if (!A_KNOWN.has(k)) bad(`attachment ${i} has unknown field "${k}"`);
  for (const k of A_REQUIRED) if (!(k in a)) bad(`attachment ${i} lacks "${k}"`);
  if (!isShortText(a.id)) bad(`attachment ${i} "id" is not a short text`);
  const key = a.key;
  if (!(key instanceof Uint8Array) || key.length < ATTACHMENT_KEY_MIN || key.length > ATTACHMENT_KEY_MAX) {
    bad(`attachment ${i} "key" is not ${ATTACHMENT_KEY_MIN}–${ATTACHMENT_KEY_MAX} bytes`);
  }
  if (!(a.dig instanceof Uint8Array) || a.dig.length !== HASH_LENGTH)
    bad(`attachment ${i} "dig" is not 32 bytes`);
  if (!isTime(a.size)) bad(`attachment ${i} "size" is not an unsigned integer`);
  if (!isShortText(a.type)) bad(`attachment ${i} "type" is not a short text`);
  if ('name' in a && !isShortText(a.name)) bad(`attachment ${i} "name" is not a short text`);
}

/** An attachment map {@link checkAttachment} accepted, converted. */
function attachmentOf(a: Record<string, unknown>): AttachmentRef {
  return {
    blobId: a.id as string,
    key: a.key as Uint8Array,
    digest: a.dig as Uint8Array,
    size: a.size as number,
    contentType: a.type as string,
    ...('name' in a ? { fileName: a.name as string } : {}),
  };
}

/** Checks a CBOR map against the body schema; throws MALFORMED_RECORD. */
function checkCbor(
  m: unknown,
): asserts m is Record<string, unknown> & { parts: string[]; att: Record<string, unknown>[] } {
  if (!isCborMap(m)) return bad('not a map');
  for (const k of Object.keys(m)) if (!KNOWN.has(k)) bad(`unknown field "${k}"`);
  for (const k of REQUIRED) if (!(k in m)) bad(`lacks "${k}"`);
  if (m.dir !== 'sent' && m.dir !== 'received') bad('"dir" is not "sent" or "received"');
  if (!(EVENT_KINDS as readonly unknown[]).includes(m.kind)) bad('"kind" is not a known event kind');
  for (const k of ['mid', 'conv', 'from', 'edits', 'reply', 'dels', 'reacts']) {
    if (k in m && !isShortText(m[k]))
      bad(`"${k}" is not a non-empty text of at most ${MAX_SHORT_TEXT_BYTES} bytes`);
  }
  checkTextList(m.parts, 'parts');
  if ('added' in m) checkTextList(m.added, 'added');
  if ('removed' in m) checkTextList(m.removed, 'removed');
  for (const k of ['sent', 'recv', 'srv', 'timer']) {
    if (k in m && !isTime(m[k])) bad(`"${k}" is not an unsigned integer`);
  }
  if ('text' in m && (typeof m.text !== 'string' || utf8Length(m.text) > MAX_TEXT_BYTES))
    bad('"text" is not a text within the limit');
  if ('emoji' in m && (typeof m.emoji !== 'string' || utf8Length(m.emoji) > MAX_SHORT_TEXT_BYTES))
    bad('"emoji" is not a short text');
  if (typeof m.notice !== 'boolean') bad('"notice" is not a boolean');
  if (!Array.isArray(m.att) || m.att.length > MAX_BODY_LIST)
    bad(`"att" is not a list of at most ${MAX_BODY_LIST}`);
  (m.att as unknown[]).forEach(checkAttachment);
  if (!Array.isArray(m.env) || m.env.length > MAX_BODY_LIST)
    bad(`"env" is not a list of at most ${MAX_BODY_LIST}`);
  (m.env as unknown[]).forEach((h, i) => {
    if (!(h instanceof Uint8Array) || h.length !== HASH_LENGTH) bad(`"env"[${i}] is not 32 bytes`);
  });
}

/** Checks a CBOR map against the body schema and converts it; throws MALFORMED_RECORD. */
function fromCbor(m: unknown): RecordBody {
  checkCbor(m);
  const attachments = m.att.map(attachmentOf);
  const opt = <T>(k: string, name: string): Record<string, T> => (k in m ? { [name]: m[k] as T } : {});
  return {
    direction: m.dir as Direction,
    kind: m.kind as EventKind,
    messageId: m.mid as string,
    conversationId: m.conv as string,
    participants: m.parts,
    sender: m.from as string,
    sentAt: m.sent as number,
    ...opt<number>('recv', 'receivedAt'),
    ...opt<number>('srv', 'serverAt'),
    ...opt<string>('text', 'text'),
    attachments,
    ...opt<string>('edits', 'edits'),
    ...opt<string>('reply', 'replyTo'),
    ...opt<string>('dels', 'deletes'),
    ...opt<string>('reacts', 'reactsTo'),
    ...opt<string>('emoji', 'reaction'),
    ...opt<string[]>('added', 'added'),
    ...opt<string[]>('removed', 'removed'),
    ...opt<number>('timer', 'timerSeconds'),
    archiveNotice: m.notice as boolean,
    envelopeHashes: m.env as Uint8Array[],
  };
}

// [field, CBOR key] pairs, listed once: toCbor runs in every send transaction (capture).
const K_ENTRIES = Object.entries(K);

function toCbor(b: RecordBody): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  for (const [field, key] of K_ENTRIES) {
    const v = (b as unknown as Record<string, unknown>)[field];
    if (v !== undefined) m[key] = v;
  }
  m.att = b.attachments.map((a) => {
    const x: Record<string, unknown> = {
      id: a.blobId,
      key: a.key,
      dig: a.digest,
      size: a.size,
      type: a.contentType,
    };
    if (a.fileName !== undefined) x.name = a.fileName;
    return x;
  });
  return m;
}

/** Encodes a body as deterministic CBOR after checking it against the schema (MALFORMED_RECORD otherwise). */
export function encodeBody(body: RecordBody): Uint8Array {
  const m = toCbor(body);
  checkCbor(m); // checks only: the body converted back is not needed here (the send path)
  const bytes = writer.encode(m);
  if (bytes.length > MAX_BODY_BYTES)
    throw new CustosError('OVERSIZED_INPUT', `record body exceeds ${MAX_BODY_BYTES} bytes`);
  return bytes;
}

/** Strictly decodes body bytes; throws OVERSIZED_INPUT or MALFORMED_RECORD. */
export function decodeBody(bytes: Uint8Array): RecordBody {
  if (bytes.length > MAX_BODY_BYTES)
    throw new CustosError('OVERSIZED_INPUT', `record body exceeds ${MAX_BODY_BYTES} bytes`);
  return fromCbor(decodeStrict(bytes, 'record body', 'MALFORMED_RECORD'));
}
