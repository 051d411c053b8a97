/**
 * Encrypted attachments. A blob's id is the SHA-256 (lowercase hex) of its bytes, checked
 * on upload; the bytes are ciphertext under a key only the message carries. Any
 * authenticated device that knows an id may download the blob: the id is unguessable (256
 * bits, learned only from an encrypted message) and the content is useless without the key,
 * so the server need not track who may read which attachment (docs/relay.md says so).
 */
import { createHash } from 'node:crypto';
import {
  BLOB_SWEEP_BATCH,
  BLOB_UNLISTED_MARGIN_MS,
  BLOB_UNREFERENCED_RETENTION_MS,
} from '../config/messaging-defaults.js';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { BlobAddOutcome, BlobId, BlobSweepLimits } from '../store/messaging-records.js';
import type { Stores } from '../store/stores.js';

/** The id pattern: 64 lowercase hex digits. */
export const BLOB_ID_PATTERN = '^[0-9a-f]{64}$';

/** The id of some bytes. */
export function blobIdOf(content: Buffer): BlobId {
  return createHash('sha256').update(content).digest('hex') as BlobId;
}

/**
 * Stores an upload: checks the hash, writes the content durably, then charges the org's
 * quota in a transaction. Resolves to whether the org already had it.
 */
export async function uploadBlob(
  stores: Stores,
  orgId: OrgId,
  deviceId: DeviceId,
  blobId: BlobId,
  content: Buffer,
  quotaBytes: number,
  now: number,
): Promise<{ readonly existed: boolean }> {
  if (content.length === 0) throw new ServerError('INVALID_REQUEST', 'body: a blob has at least one byte');
  if (blobIdOf(content) !== blobId) throw new ServerError('BLOB_HASH_MISMATCH');
  // A cheap early refusal, so an org over its quota cannot fill the disk; the charge below is the real check.
  const usage = await stores.blobs.usage(orgId);
  if (usage.bytes + content.length > quotaBytes && (await stores.blobs.find(blobId)) === undefined)
    throw new ServerError('BLOB_QUOTA_EXCEEDED');
  const record = { blobId, size: content.length, uploadedBy: deviceId, createdAt: now };
  let outcome: BlobAddOutcome = 'content-missing';
  // The sweep may remove the content of an old, unreferenced blob between our write and our
  // row: then nothing was recorded, and writing it again wins (the sweep has let it go).
  for (let tries = 0; outcome === 'content-missing' && tries < UPLOAD_TRIES; tries++) {
    await stores.blobs.putContent(blobId, content);
    outcome = await stores.withTransaction((tx) => tx.blobs.add(orgId, record, quotaBytes));
  }
  if (outcome === 'content-missing')
    throw new ServerError('UNAVAILABLE', 'blob storage is busy; retry the upload');
  if (outcome === 'over-quota') throw new ServerError('BLOB_QUOTA_EXCEEDED');
  return { existed: outcome === 'exists' };
}

/** Writes of one upload's content before giving up (a sweep removes a blob's content once). */
const UPLOAD_TRIES = 3;

/** The bytes of a blob some organisation uploaded; BLOB_NOT_FOUND otherwise. */
export async function downloadBlob(stores: Stores, blobId: BlobId): Promise<Buffer> {
  const meta = await stores.blobs.find(blobId);
  if (meta === undefined) throw new ServerError('BLOB_NOT_FOUND');
  const content = await stores.blobs.readContent(blobId);
  // Metadata without content means the blob folder lost a file: a fault, not a client error.
  if (content === undefined) throw new ServerError('INTERNAL', 'blob content missing');
  return content;
}

/** Settings of the blob sweep (the defaults of docs/operations.md; tests shorten them). */
export interface BlobSweepSettings {
  /** A blob no record lists is kept this long after its last upload. */
  readonly retentionMs: number;
  readonly unlistedMarginMs: number;
  /** Most blobs one sweep looks at. */
  readonly batch: number;
}

export const DEFAULT_BLOB_SWEEP: BlobSweepSettings = Object.freeze({
  retentionMs: BLOB_UNREFERENCED_RETENTION_MS,
  unlistedMarginMs: BLOB_UNLISTED_MARGIN_MS,
  batch: BLOB_SWEEP_BATCH,
});

/**
 * Deletes blobs that no archive record lists, uploaded (by every organisation that did)
 * longer than `retentionMs` ago and after the last record that may reference blobs without
 * listing them. Each blob's rows go in one transaction that reads every rule again under
 * their locks, its content in a later one that keeps it if an upload came back meanwhile.
 * Resolves to the number of blobs deleted.
 */
export async function sweepBlobs(
  stores: Stores,
  now: number,
  settings: BlobSweepSettings = DEFAULT_BLOB_SWEEP,
): Promise<number> {
  const limits: BlobSweepLimits = {
    uploadedBefore: now - settings.retentionMs,
    unlistedMarginMs: settings.unlistedMarginMs,
  };
  let swept = 0;
  for (const blobId of await stores.blobs.sweepCandidates(limits, settings.batch)) {
    if (!(await stores.withTransaction((tx) => tx.blobs.sweepRows(blobId, limits)))) continue;
    // A crash here leaves content no row names: never served, and written over by a later
    // upload of the same bytes.
    await stores.withTransaction((tx) => tx.blobs.removeUnusedContent(blobId));
    swept++;
  }
  return swept;
}
