/**
 * The stateless half of archive ingest: everything that can be checked from the upload
 * alone, before any store access — framing and header of every record, that every header
 * names the caller's org and device, that the records are consecutive and linked among
 * themselves, the wrapped session keys, and the device's batch signature (threat model
 * F16: an unsigned, mis-signed or foreign record is refused here).
 */
import {
  CustosError,
  decodeWrappedSessionKey,
  parseRecord,
  recordHashOf,
  sessionKeyIdOf,
  verifyBatch,
  type RecordHash,
  type RecordHeader,
  type OrgId as CoreOrgId,
  type DeviceId as CoreDeviceId,
} from '@custos/core';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import { sameBytes } from './group-reads.js';

/** One checked record of a batch. */
export interface VerifiedRecord {
  readonly bytes: Uint8Array;
  readonly hash: RecordHash;
  readonly header: RecordHeader;
}

/** A wrapped session key uploaded with a batch. */
export interface VerifiedSessionKey {
  readonly keyId: Uint8Array;
  readonly bucket: string;
  readonly wrapped: Uint8Array;
}

/** A batch whose form and signature are checked; the chain against the store is not. */
export interface VerifiedBatch {
  readonly orgId: OrgId;
  readonly deviceId: DeviceId;
  readonly firstSeq: number;
  readonly records: readonly VerifiedRecord[];
  /** The device's signature over all of `records` (docs/archive-format.md §6); stored with them. */
  readonly signature: Uint8Array;
  readonly sessionKeys: readonly VerifiedSessionKey[];
  /**
   * When the uploading device was revoked, for a batch it hands in during its hand-in window
   * (auth/archive-hand-in.ts): its records' buckets must have begun by then.
   */
  readonly revokedAt?: number;
}

/** What the upload carried, decoded from the wire. */
export interface BatchUpload {
  readonly records: readonly Uint8Array[];
  readonly signature: Uint8Array;
  readonly sessionKeys: readonly Uint8Array[];
}

const invalid = (msg: string, cause?: unknown): ServerError =>
  new ServerError('ARCHIVE_RECORD_INVALID', msg, cause === undefined ? undefined : { cause });

/**
 * Checks an upload from device `deviceId` of `orgId` whose identity key is `identityKey`.
 * Throws ARCHIVE_RECORD_INVALID naming the record, ARCHIVE_FORK when the batch does not
 * link internally, or BATCH_SIGNATURE_INVALID.
 */
export function verifyUpload(
  orgId: OrgId,
  deviceId: DeviceId,
  identityKey: Uint8Array,
  upload: BatchUpload,
): VerifiedBatch {
  const records: VerifiedRecord[] = [];
  for (let i = 0; i < upload.records.length; i++) {
    const bytes = upload.records[i]!;
    let header: RecordHeader;
    try {
      header = parseRecord(bytes).header;
    } catch (e) {
      const why = e instanceof CustosError ? e.message : 'cannot be parsed';
      throw invalid(`records[${i}]: ${why}`, e);
    }
    if ((header.org as string) !== orgId) throw invalid(`records[${i}]: header names another organisation`);
    if ((header.device as string) !== deviceId)
      throw invalid(`records[${i}]: header names another device than the caller`);
    const hash = recordHashOf(bytes);
    records.push({ bytes, hash, header });
  }
  const first = records[0];
  if (first === undefined) throw invalid('a batch holds at least one record');
  try {
    verifyBatch(
      identityKey,
      {
        org: orgId as string as CoreOrgId,
        device: deviceId as string as CoreDeviceId,
        firstSeq: first.header.seq,
        hashes: records.map((r) => r.hash),
      },
      upload.signature,
    );
  } catch (e) {
    throw new ServerError(
      'BATCH_SIGNATURE_INVALID',
      "the batch signature does not verify with this device's identity key",
      { cause: e },
    );
  }
  // Linkage inside the batch, checked after the signature so a forged record reads as forged.
  for (let i = 1; i < records.length; i++) {
    const { header } = records[i]!;
    const prev = records[i - 1]!;
    if (header.seq !== prev.header.seq + 1) {
      throw invalid(`records[${i}]: sequence number ${header.seq} does not follow ${prev.header.seq}`);
    }
    if (!sameBytes(header.prev, prev.hash)) {
      throw new ServerError(
        'ARCHIVE_FORK',
        `records[${i}]: expected sequence number ${header.seq} to link to records[${i - 1}] (fork inside the batch)`,
      );
    }
  }
  const sessionKeys = upload.sessionKeys.map((wrapped, i): VerifiedSessionKey => {
    let ctx;
    try {
      ctx = decodeWrappedSessionKey(wrapped).context;
    } catch (e) {
      throw invalid(`sessionKeys[${i}]: ${e instanceof CustosError ? e.message : 'cannot be parsed'}`, e);
    }
    if ((ctx.org as string) !== orgId || (ctx.device as string) !== deviceId) {
      throw invalid(`sessionKeys[${i}]: names another organisation or device`);
    }
    return { keyId: sessionKeyIdOf(wrapped), bucket: ctx.bucket, wrapped };
  });
  return { orgId, deviceId, firstSeq: first.header.seq, records, signature: upload.signature, sessionKeys };
}
