/**
 * What a copy keeps beside each sealed record (the device page files), and the one check
 * that ties a record to the log: its log entry must be an `archive-record` of the same
 * device, sequence number and bucket, committing to the record's SHA-256 and size. Taking a
 * copy and verifying one both use it, so they cannot disagree on what "in the log" means.
 */
import type { LogEntry } from '@custos/core';

/** `format` of a device page file. */
export const DEVICE_PAGE_FORMAT = 'custos-copy-records';

/**
 * One record of a device page: everything the records route served with it except the
 * bytes (in records/) and the inclusion proof (the copy holds the whole log instead).
 * `identityKey`, `sessionKey` and `batch` are what opening and signature checks need later.
 */
export interface CopiedRecordMeta {
  readonly seq: number;
  readonly logIndex: number;
  /** SHA-256 of the sealed record, hex (its file name under records/). */
  readonly hash: string;
  readonly size: number;
  readonly bucketId: string;
  readonly receivedAt: number;
  readonly identityKey: string;
  /** The wrapped session key the record is sealed under (base64url; opaque without the bucket key). */
  readonly sessionKey: string;
  /** Index of its device batch signature in the page's `batches`; null when the server holds none. */
  readonly batch: number | null;
}

/** A device batch signature (docs/archive-format.md): the record hashes from `firstSeq` on, signed. */
export interface CopiedBatch {
  readonly firstSeq: number;
  readonly signature: string;
  readonly hashes: readonly string[];
}

/**
 * A device page file. A batch signs many records: it is kept once per page, not once per
 * record (the route repeats it with each), which would make a page grow with the square of
 * the batch size.
 */
export interface DevicePage {
  readonly format: typeof DEVICE_PAGE_FORMAT;
  readonly device: string;
  readonly records: readonly CopiedRecordMeta[];
  readonly batches: readonly CopiedBatch[];
}

/** What a record claims to be. */
export interface RecordClaim {
  readonly device: string;
  readonly seq: number;
  readonly bucketId: string;
  readonly hash: Uint8Array;
  readonly size: number;
}

/** Why `entry` does not commit to `claim`, or null when it does. */
export function entryMismatch(entry: LogEntry, claim: RecordClaim): string | null {
  if (entry.type !== 'archive-record') return `the entry is a ${entry.type} entry, not an archive record`;
  if (entry.device !== claim.device || entry.seq !== claim.seq)
    return `the entry is record ${entry.device}#${entry.seq}, not ${claim.device}#${claim.seq}`;
  if (entry.bucket !== claim.bucketId) return `the entry names bucket ${entry.bucket}, not ${claim.bucketId}`;
  if (Buffer.compare(Buffer.from(entry.hash), Buffer.from(claim.hash)) !== 0)
    return "the record's SHA-256 is not the hash the entry commits to";
  if (entry.size !== claim.size) return `the record is ${claim.size} bytes, the entry says ${entry.size}`;
  return null;
}
