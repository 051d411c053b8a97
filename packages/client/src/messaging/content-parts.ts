/**
 * Structured parts of message content v1 (docs/client.md §5): group state, attachment
 * pointers, receipts, timers and the sender's display name. Each part has a wire form
 * (short CBOR keys) and a strict decoder that says what is wrong with CONTENT_INVALID.
 */
import type { AttachmentRef } from '@custos/core';
import { ClientError } from '../errors.js';

/** Longest id or short field, in UTF-8 bytes. */
export const MAX_SHORT = 256;
/** Most members of one group. */
export const MAX_GROUP_MEMBERS = 1000;
/** Most attachments on one message. */
export const MAX_ATTACHMENTS = 32;
/** Most message ids one receipt acknowledges. */
export const MAX_RECEIPT_IDS = 1000;
/** Longest disappearing-message timer (one year), in seconds. */
export const MAX_TIMER_SECONDS = 365 * 24 * 60 * 60;
/** Attachment content keys are 32 bytes (AES-256-GCM; docs/client.md §5). */
export const ATTACHMENT_KEY_BYTES = 32;
/** Digest length (SHA-256). */
const DIGEST_BYTES = 32;
/** A group id: `g.` and 128 random bits in base64url. */
export const GROUP_ID_PATTERN = /^g\.[A-Za-z0-9_-]{22}$/;
/** A blob id: the lowercase hex SHA-256 of the blob (the server's content addressing). */
const BLOB_ID_PATTERN = /^[0-9a-f]{64}$/;

/** A user across organisations, as content names one. */
export interface UserRef {
  readonly org: string;
  readonly user: string;
}

/** Group state carried inside a 'group-update' (never visible to the server). */
export interface GroupState {
  readonly name: string;
  readonly members: readonly UserRef[];
  /** Increases with every change; concurrent equal revisions are ordered by state hash. */
  readonly revision: number;
}

/** An attachment pointer: where the encrypted blob is and how to check and open it. MUST NOT log: holds a key. */
export type AttachmentPointer = AttachmentRef;

/** Receipt types. */
export const RECEIPT_TYPES = ['delivered', 'read'] as const;
/** One of {@link RECEIPT_TYPES}. */
export type ReceiptType = (typeof RECEIPT_TYPES)[number];

/** The sender's own profile as peers see it. */
export interface ContentProfile {
  readonly name: string;
}

/** CONTENT_INVALID naming the part. */
export function bad(what: string): ClientError {
  return new ClientError('CONTENT_INVALID', `message content: ${what}`);
}

/** A non-empty short text. */
export function short(v: unknown, what: string, max = MAX_SHORT): string {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > max)
    throw bad(`${what} is malformed`);
  return v;
}

/** True for a plain CBOR map (not an array or byte string). */
export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function exactKeys(
  v: unknown,
  what: string,
  required: string[],
  optional: string[] = [],
): Record<string, unknown> {
  if (!isMap(v)) throw bad(`${what} is not a map`);
  for (const k of Object.keys(v))
    if (!required.includes(k) && !optional.includes(k)) throw bad(`${what} has an unknown field`);
  for (const k of required) if (!(k in v)) throw bad(`${what} lacks ${k}`);
  return v;
}

function list(v: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(v) || v.length > max) throw bad(`${what} is not a list of at most ${max}`);
  return v;
}

function uint(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max)
    throw bad(`${what} is malformed`);
  return v;
}

function bytesOf(v: unknown, what: string, length: number): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) throw bad(`${what} is not ${length} bytes`);
  return v;
}

/** Decodes a user reference `{org, user}`. */
export function decodeUserRef(v: unknown, what: string): UserRef {
  const m = exactKeys(v, what, ['org', 'user']);
  return { org: short(m.org, `${what}.org`), user: short(m.user, `${what}.user`) };
}

/** Wire form of group state. */
export function encodeGroupState(g: GroupState): Record<string, unknown> {
  return { name: g.name, mem: g.members.map((u) => ({ org: u.org, user: u.user })), rev: g.revision };
}

/** Decodes group state: a name, 1–MAX_GROUP_MEMBERS distinct members, a revision. */
export function decodeGroupState(v: unknown): GroupState {
  const m = exactKeys(v, 'group state', ['name', 'mem', 'rev']);
  const members = list(m.mem, 'group members', MAX_GROUP_MEMBERS).map((u, i) =>
    decodeUserRef(u, `member ${i}`),
  );
  if (members.length === 0) throw bad('group has no members');
  const seen = new Set(members.map((u) => `${u.org}.${u.user}`));
  if (seen.size !== members.length) throw bad('group lists a member twice');
  return { name: short(m.name, 'group name'), members, revision: uint(m.rev, 'group revision') };
}

/** Wire form of attachment pointers. */
export function encodeAttachments(list: readonly AttachmentPointer[]): Record<string, unknown>[] {
  return list.map((a) => ({
    id: a.blobId,
    key: a.key,
    dig: a.digest,
    size: a.size,
    type: a.contentType,
    ...(a.fileName === undefined ? {} : { name: a.fileName }),
  }));
}

/** Decodes attachment pointers; the blob id must be the hex of the digest (content addressing). */
export function decodeAttachments(v: unknown): AttachmentPointer[] {
  return list(v, 'attachments', MAX_ATTACHMENTS).map((x, i) => {
    const what = `attachment ${i}`;
    const a = exactKeys(x, what, ['id', 'key', 'dig', 'size', 'type'], ['name']);
    const blobId = short(a.id, `${what} id`);
    const digest = bytesOf(a.dig, `${what} digest`, DIGEST_BYTES);
    if (!BLOB_ID_PATTERN.test(blobId) || Buffer.from(digest).toString('hex') !== blobId)
      throw bad(`${what} id is not the hex SHA-256 digest of its blob`);
    return {
      blobId,
      key: bytesOf(a.key, `${what} key`, ATTACHMENT_KEY_BYTES),
      digest,
      size: uint(a.size, `${what} size`),
      contentType: short(a.type, `${what} content type`),
      ...(a.name === undefined ? {} : { fileName: short(a.name, `${what} file name`) }),
    };
  });
}

/** Decodes the message ids a receipt acknowledges (1–MAX_RECEIPT_IDS). */
export function decodeReceiptIds(v: unknown): string[] {
  const ids = list(v, 'receipt ids', MAX_RECEIPT_IDS).map((x) => short(x, 'receipt id'));
  if (ids.length === 0) throw bad('a receipt names no message');
  return ids;
}

/** Decodes a receipt type. */
export function decodeReceiptType(v: unknown): ReceiptType {
  if (typeof v !== 'string' || !(RECEIPT_TYPES as readonly string[]).includes(v))
    throw bad('unknown receipt type');
  return v as ReceiptType;
}

/** Decodes a timer in seconds (0 = off). */
export function decodeTimer(v: unknown): number {
  return uint(v, 'timer', MAX_TIMER_SECONDS);
}

/** Decodes a group id. */
export function decodeGroupId(v: unknown): string {
  if (typeof v !== 'string' || !GROUP_ID_PATTERN.test(v)) throw bad('group id is malformed');
  return v;
}

/** Decodes the sender's profile `{name}`. */
export function decodeProfile(v: unknown): ContentProfile {
  const m = exactKeys(v, 'profile', ['name']);
  return { name: short(m.name, 'profile name') };
}
