/**
 * The message content format, carried inside the Signal ciphertext (docs/client.md §4).
 * Deterministic CBOR map, version 1, padded to a multiple of 160 bytes (as Signal pads)
 * so ciphertext sizes reveal less about the text:
 *
 *   { v: 1, id, ts, kind, [text], [conv], [reply], [edits], [dels], [reacts], [emoji],
 *     [notice: { org, name }], [sync: { org, user }], [grp], [gs], [att], [rcpt], [rids],
 *     [exp], [prof] }
 *
 * `id` is the stable message id of this event (edits, deletes, reactions and replies name
 * others by theirs); `notice` is the archive notice (threat model F17): the sender's
 * organisation archives this conversation — every client shows it, whatever its own policy.
 * `sync` marks a copy to the sender's own other devices and names the real conversation peer.
 * `grp` names the group a content belongs to; `gs` carries group state (content-parts.ts).
 */
import { randomBytes } from 'node:crypto';
import { decodeStrictCbor, encodeDeterministicCbor } from '@custos/core';
import { ClientError } from '../errors.js';
import {
  bad,
  decodeAttachments,
  decodeGroupId,
  decodeGroupState,
  decodeProfile,
  decodeReceiptIds,
  decodeReceiptType,
  decodeTimer,
  decodeUserRef,
  encodeAttachments,
  encodeGroupState,
  isMap,
  short,
  type AttachmentPointer,
  type ContentProfile,
  type GroupState,
  type ReceiptType,
  type UserRef,
} from './content-parts.js';

export type { UserRef } from './content-parts.js';

/** Version of the content format. */
export const CONTENT_VERSION = 1;
/** Padding block (bytes), as Signal's message padding. */
export const CONTENT_PADDING_BLOCK = 160;
/** Largest encoded content accepted (before padding). */
export const MAX_CONTENT_BYTES = 256 * 1024;
/** Longest text of one message, in UTF-8 bytes. */
export const MAX_MESSAGE_TEXT_BYTES = 64 * 1024;

/** Kinds of content event. 'group-update', 'receipt' and 'timer' are control messages. */
export const CONTENT_KINDS = [
  'message',
  'edit',
  'delete',
  'reaction',
  'group-update',
  'receipt',
  'timer',
] as const;
/** One of {@link CONTENT_KINDS}. */
export type ContentKind = (typeof CONTENT_KINDS)[number];

/** The archive notice: which organisation archives the conversation. */
export interface ArchiveNotice {
  readonly org: string;
  readonly name: string;
}

/** Decoded message content. */
export interface MessageContent {
  readonly id: string;
  readonly timestamp: number;
  readonly kind: ContentKind;
  readonly text?: string;
  readonly conversation?: string;
  readonly replyTo?: string;
  readonly edits?: string;
  readonly deletes?: string;
  readonly reactsTo?: string;
  readonly emoji?: string;
  readonly notice?: ArchiveNotice;
  readonly sync?: UserRef;
  /** The group this content belongs to (group id). */
  readonly group?: string;
  /** The group's new state (kind 'group-update'). */
  readonly groupState?: GroupState;
  /** Attachment pointers (kind 'message'). MUST NOT log: they hold keys. */
  readonly attachments?: readonly AttachmentPointer[];
  /** Receipt type and the message ids it acknowledges (kind 'receipt'). */
  readonly receipt?: ReceiptType;
  readonly receiptFor?: readonly string[];
  /** Disappearing-message timer in seconds: set (kind 'timer') or in force (messages). */
  readonly timer?: number;
  /** The sender's display name, so peers learn it (never visible to the server). */
  readonly profile?: ContentProfile;
}

/** A fresh stable message id (128 random bits, base64url). */
export function newMessageId(): string {
  return randomBytes(16).toString('base64url');
}

const FIELDS: readonly [keyof MessageContent, string][] = [
  ['text', 'text'],
  ['conversation', 'conv'],
  ['replyTo', 'reply'],
  ['edits', 'edits'],
  ['deletes', 'dels'],
  ['reactsTo', 'reacts'],
  ['emoji', 'emoji'],
];
const PARTS = ['notice', 'sync', 'grp', 'gs', 'att', 'rcpt', 'rids', 'exp', 'prof'];
/** Every top-level wire field a content may have. */
const WIRE_FIELDS: ReadonlySet<string> = new Set([
  'v',
  'id',
  'ts',
  'kind',
  ...PARTS,
  ...FIELDS.map(([, w]) => w),
]);

/** Encodes and pads content. */
export function encodeContent(c: MessageContent): Uint8Array {
  const m: Record<string, unknown> = { v: CONTENT_VERSION, id: c.id, ts: c.timestamp, kind: c.kind };
  for (const [k, wire] of FIELDS) if (c[k] !== undefined) m[wire] = c[k];
  if (c.notice !== undefined) m.notice = { org: c.notice.org, name: c.notice.name };
  if (c.sync !== undefined) m.sync = { org: c.sync.org, user: c.sync.user };
  if (c.group !== undefined) m.grp = c.group;
  if (c.groupState !== undefined) m.gs = encodeGroupState(c.groupState);
  if (c.attachments !== undefined) m.att = encodeAttachments(c.attachments);
  if (c.receipt !== undefined) m.rcpt = c.receipt;
  if (c.receiptFor !== undefined) m.rids = [...c.receiptFor];
  if (c.timer !== undefined) m.exp = c.timer;
  if (c.profile !== undefined) m.prof = { name: c.profile.name };
  checkContent(decodeFields(m));
  const body = encodeDeterministicCbor(m);
  if (body.length > MAX_CONTENT_BYTES)
    throw new ClientError('CONTENT_INVALID', 'message content is too large');
  const padded = new Uint8Array(Math.ceil((body.length + 1) / CONTENT_PADDING_BLOCK) * CONTENT_PADDING_BLOCK);
  padded.set(body);
  padded[body.length] = 0x80;
  return padded;
}

/** Strips padding and decodes content; CONTENT_INVALID names what is wrong. */
export function decodeContent(padded: Uint8Array): MessageContent {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x80)
    throw new ClientError('CONTENT_INVALID', 'content padding is malformed');
  if (end > MAX_CONTENT_BYTES) throw new ClientError('CONTENT_INVALID', 'message content is too large');
  let m: unknown;
  try {
    m = decodeStrictCbor(padded.subarray(0, end), 'message content', 'MALFORMED_INPUT');
  } catch (e) {
    throw new ClientError('CONTENT_INVALID', 'content is not deterministic CBOR', { cause: e });
  }
  if (!isMap(m)) throw new ClientError('CONTENT_INVALID', 'content is not a map');
  const c = decodeFields(m);
  checkContent(c);
  return c;
}

function decodeFields(m: Record<string, unknown>): MessageContent {
  // The field name is not echoed: it comes from the sender and may carry text (warnings keep the message).
  for (const k of Object.keys(m)) if (!WIRE_FIELDS.has(k)) throw bad('content has an unknown field');
  if (m.v !== CONTENT_VERSION) throw bad(`unsupported version`);
  const ts = m.ts;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) throw bad('ts is malformed');
  const kind = m.kind;
  if (typeof kind !== 'string' || !(CONTENT_KINDS as readonly string[]).includes(kind))
    throw bad('unknown kind');
  const out: Record<string, unknown> = { id: short(m.id, 'id'), timestamp: ts, kind };
  for (const [k, wire] of FIELDS) {
    const v = m[wire];
    if (v === undefined) continue;
    if (k === 'text' || k === 'emoji') {
      if (typeof v !== 'string' || Buffer.byteLength(v) > MAX_MESSAGE_TEXT_BYTES)
        throw bad(`${wire} is malformed`);
      out[k] = v;
    } else out[k] = short(v, wire);
  }
  if (m.notice !== undefined) {
    const n = m.notice;
    if (!isMap(n) || Object.keys(n).sort().join() !== 'name,org') throw bad('notice is malformed');
    out.notice = { org: short(n.org, 'notice.org'), name: short(n.name, 'notice.name') };
  }
  if (m.sync !== undefined) out.sync = decodeUserRef(m.sync, 'sync');
  if (m.grp !== undefined) out.group = decodeGroupId(m.grp);
  if (m.gs !== undefined) out.groupState = decodeGroupState(m.gs);
  if (m.att !== undefined) out.attachments = decodeAttachments(m.att);
  if (m.rcpt !== undefined) out.receipt = decodeReceiptType(m.rcpt);
  if (m.rids !== undefined) out.receiptFor = decodeReceiptIds(m.rids);
  if (m.exp !== undefined) out.timer = decodeTimer(m.exp);
  if (m.prof !== undefined) out.profile = decodeProfile(m.prof);
  return out as unknown as MessageContent;
}

/** Kind-specific rules: an edit names what it edits, a reaction what it reacts to, and so on. */
function checkContent(c: MessageContent): void {
  const need = (f: keyof MessageContent) => {
    if (c[f] === undefined) throw bad(`a ${c.kind} needs ${f}`);
  };
  const only = (f: keyof MessageContent, kind: ContentKind) => {
    if (c[f] !== undefined && c.kind !== kind) throw bad(`${f} belongs to a ${kind} only`);
  };
  if (c.kind === 'message' && c.text === undefined && (c.attachments?.length ?? 0) === 0) need('text');
  if (c.kind === 'edit') {
    need('edits');
    need('text');
  }
  if (c.kind === 'delete') need('deletes');
  if (c.kind === 'reaction') {
    need('reactsTo');
    need('emoji');
  }
  if (c.kind === 'group-update') {
    need('group');
    need('groupState');
  }
  if (c.kind === 'receipt') {
    need('receipt');
    need('receiptFor');
  }
  if (c.kind === 'timer') need('timer');
  only('groupState', 'group-update');
  only('attachments', 'message');
  only('receipt', 'receipt');
  only('receiptFor', 'receipt');
}
