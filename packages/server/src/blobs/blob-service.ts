/**
 * Encrypted attachments. A blob's id is the SHA-256 (lowercase hex) of its bytes, checked
 * on upload; the bytes are ciphertext under a key only the message carries. Any
 * authenticated device that knows an id may download the blob: the id is unguessable (256
 * bits, learned only from an encrypted message) and the content is useless without the key,
 * so the server need not track who may read which attachment (docs/relay.md says so).
 */
import { createHash } from 'node:crypto';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { BlobId } from '../store/messaging-records.js';
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
  await stores.blobs.putContent(blobId, content);
  const outcome = await stores.withTransaction((tx) =>
    tx.blobs.add(orgId, { blobId, size: content.length, uploadedBy: deviceId, createdAt: now }, quotaBytes),
  );
  if (outcome === 'over-quota') throw new ServerError('BLOB_QUOTA_EXCEEDED');
  return { existed: outcome === 'exists' };
}

/** The bytes of a blob some organisation uploaded; BLOB_NOT_FOUND otherwise. */
export async function downloadBlob(stores: Stores, blobId: BlobId): Promise<Buffer> {
  const meta = await stores.blobs.find(blobId);
  if (meta === undefined) throw new ServerError('BLOB_NOT_FOUND');
  const content = await stores.blobs.readContent(blobId);
  // Metadata without content means the blob folder lost a file: a fault, not a client error.
  if (content === undefined) throw new ServerError('INTERNAL', 'blob content missing');
  return content;
}
