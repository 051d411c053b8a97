/**
 * The typed entries of an organisation's log (architecture §6). An entry is a small, fixed
 * commitment — what kind of thing, its SHA-256, its size, who caused it and when — plus a
 * few fields per kind. Ciphertext and documents live elsewhere; the log holds only these.
 *
 * The log leaf is the entry's encoding (log-entry-codec.ts); leaf hash = hashLeaf(bytes).
 */
import { CustosError } from '../errors.js';
import { isWellFormedId, type BucketId, type DeviceId, type OrgId } from '../record/index.js';
import { isGapReason, GAP_REASONS, type GapReason } from '../sign/gap-declaration.js';

/** Version of the log entry encoding; the `v` field of every entry. */
export const LOG_ENTRY_VERSION = 1;
/** Largest encoded entry accepted, in bytes (real entries are ~150). */
export const MAX_LOG_ENTRY_BYTES = 1024;
/** Length of every hash in an entry (SHA-256). */
export const LOG_ENTRY_HASH_BYTES = 32;

/** Every entry type, as written in the `t` field. */
export const LOG_ENTRY_TYPES = [
  'archive-record',
  'relay-receipt',
  'key-event',
  'audit-event',
  'hold',
  'disposition',
  'archive-gap',
] as const;

/** One of {@link LOG_ENTRY_TYPES}. */
export type LogEntryType = (typeof LOG_ENTRY_TYPES)[number];

/** Fields every entry has. */
export interface LogEntryCommon {
  /** SHA-256 of the thing committed to (see each type for what that is). */
  readonly hash: Uint8Array;
  /** Size in bytes of the thing committed to. */
  readonly size: number;
  /** Who caused the entry: a device or user id. */
  readonly actor: string;
  /** When the server accepted it, in milliseconds since the Unix epoch. */
  readonly time: number;
}

/** An archive record was stored. hash/size: of the record's exact encoded bytes; actor = device. */
export interface ArchiveRecordEntry extends LogEntryCommon {
  readonly type: 'archive-record';
  readonly org: OrgId;
  readonly device: DeviceId;
  /** The record's per-device sequence number. */
  readonly seq: number;
  readonly bucket: BucketId;
}

/** The relay carried an envelope. hash/size: of the envelope's exact bytes; actor = sender device. */
export interface RelayReceiptEntry extends LogEntryCommon {
  readonly type: 'relay-receipt';
  readonly sender: DeviceId;
  readonly recipient: DeviceId;
}

/** A key changed (device enrolled or revoked, bucket key published, ...). hash/size: of the key event document. */
export interface KeyEventEntry extends LogEntryCommon {
  readonly type: 'key-event';
  /** What happened, e.g. `device-enrolled`; see {@link isWellFormedKind}. */
  readonly kind: string;
  /** Id of the device, user, bucket or key the event is about. */
  readonly subject: string;
}

/** Someone did something auditable (search, export, review decision, ...). hash/size: of the audit record. */
export interface AuditEventEntry extends LogEntryCommon {
  readonly type: 'audit-event';
  /** What was done, e.g. `export`; see {@link isWellFormedKind}. */
  readonly kind: string;
}

/** A legal hold was placed or released. hash/size: of the hold definition document. */
export interface HoldEntry extends LogEntryCommon {
  readonly type: 'hold';
  readonly holdId: string;
  readonly action: 'place' | 'release';
}

/** A bucket was disposed of. hash/size: of the signed disposition certificate. */
export interface DispositionEntry extends LogEntryCommon {
  readonly type: 'disposition';
  readonly bucket: BucketId;
  /** Number of records destroyed. */
  readonly records: number;
}

/**
 * A device declared a run of its chain missing for good (docs/archive-format.md §6.1): the
 * server accepted it because it holds none of those records and the device signed that it
 * cannot send them. hash/size: of the signed declaration document; actor = device.
 */
export interface ArchiveGapEntry extends LogEntryCommon {
  readonly type: 'archive-gap';
  readonly org: OrgId;
  readonly device: DeviceId;
  /** First missing sequence number. */
  readonly seq: number;
  /** Last missing sequence number (at least `seq`). */
  readonly end: number;
  readonly reason: GapReason;
}

/** Any log entry. */
export type LogEntry =
  | ArchiveRecordEntry
  | RelayReceiptEntry
  | KeyEventEntry
  | AuditEventEntry
  | HoldEntry
  | DispositionEntry
  | ArchiveGapEntry;

/** The actions a hold entry can record. */
export const HOLD_ACTIONS = ['place', 'release'] as const;

const KIND_PATTERN = /^[a-z][a-z0-9-]{0,47}$/;

/** True for a well-formed event kind: lowercase letters, digits and `-`, 1–48 chars, starting with a letter. */
export function isWellFormedKind(s: unknown): s is string {
  return typeof s === 'string' && KIND_PATTERN.test(s);
}

/** True for a known entry type. */
export function isLogEntryType(s: unknown): s is LogEntryType {
  return typeof s === 'string' && (LOG_ENTRY_TYPES as readonly string[]).includes(s);
}

const isUint = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

type ValidationCode = 'INVALID_ARGUMENT' | 'MALFORMED_LOG_ENTRY';

const badField =
  (code: ValidationCode) =>
  (field: string, rule: string): CustosError =>
    new CustosError(code, `log entry: ${field} ${rule}`);

/** The hash and size of any entry, as validateLogEntry checks them. */
function checkHashAndSize(e: { readonly hash: unknown; readonly size: unknown }, code: ValidationCode): void {
  if (!(e.hash instanceof Uint8Array) || e.hash.length !== LOG_ENTRY_HASH_BYTES) {
    throw badField(code)('hash', `must be ${LOG_ENTRY_HASH_BYTES} bytes`);
  }
  if (!isUint(e.size)) throw badField(code)('size', 'must be a safe integer >= 0');
}

/**
 * What validateLogEntry checks of an archive record's entry beyond its org, device, bucket and
 * time (hash, size, sequence number), with the same errors: for an encoder that has checked
 * those once for many records (encodeArchiveRecordEntries).
 */
export function validateArchiveRecordFields(
  r: { readonly hash: unknown; readonly size: unknown; readonly seq: unknown },
  code: ValidationCode,
): void {
  checkHashAndSize(r, code);
  if (!isUint(r.seq)) throw badField(code)('seq', 'must be a safe integer >= 0');
}

/**
 * Checks every field of `e` (types, ranges, lengths, id syntax); throws `code` naming the
 * first bad field. Encoding and decoding both go through here.
 */
export function validateLogEntry(e: LogEntry, code: ValidationCode): void {
  const bad = badField(code);
  if (!isLogEntryType(e.type)) throw bad('type', `must be one of ${LOG_ENTRY_TYPES.join(', ')}`);
  checkHashAndSize(e, code);
  if (!isWellFormedId(e.actor)) throw bad('actor', 'must be a well-formed id');
  if (!isUint(e.time)) throw bad('time', 'must be a safe integer >= 0 (ms since the epoch)');
  const id = (field: string, v: unknown): void => {
    if (!isWellFormedId(v)) throw bad(field, 'must be a well-formed id');
  };
  switch (e.type) {
    case 'archive-record':
      id('org', e.org);
      id('device', e.device);
      id('bucket', e.bucket);
      validateArchiveRecordFields(e, code);
      if (e.actor !== e.device) throw bad('actor', 'of an archive record must be its device');
      return;
    case 'relay-receipt':
      id('sender', e.sender);
      id('recipient', e.recipient);
      if (e.actor !== e.sender) throw bad('actor', 'of a relay receipt must be its sender device');
      return;
    case 'key-event':
      if (!isWellFormedKind(e.kind)) throw bad('kind', 'must match [a-z][a-z0-9-]{0,47}');
      id('subject', e.subject);
      return;
    case 'audit-event':
      if (!isWellFormedKind(e.kind)) throw bad('kind', 'must match [a-z][a-z0-9-]{0,47}');
      return;
    case 'hold':
      id('holdId', e.holdId);
      if (!(HOLD_ACTIONS as readonly string[]).includes(e.action))
        throw bad('action', "must be 'place' or 'release'");
      return;
    case 'disposition':
      id('bucket', e.bucket);
      if (!isUint(e.records)) throw bad('records', 'must be a safe integer >= 0');
      return;
    case 'archive-gap':
      id('org', e.org);
      id('device', e.device);
      if (!isUint(e.seq)) throw bad('seq', 'must be a safe integer >= 0');
      if (!isUint(e.end) || e.end < e.seq) throw bad('end', 'must be a safe integer >= seq');
      if (!isGapReason(e.reason)) throw bad('reason', `must be one of ${GAP_REASONS.join(', ')}`);
      if (e.actor !== e.device) throw bad('actor', 'of an archive gap must be its device');
      return;
  }
}
