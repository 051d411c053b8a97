/**
 * Which devices need a bucket's blind-index key (docs/keys.md §3): the org's active devices,
 * one page at a time, each with its identity key (what the officer's console seals the
 * index key to), its user's retention class (which buckets it seals records to) and whether
 * an index key for the bucket is already stored for it. Identity keys are public (prekey
 * bundles carry them); the server learns nothing new by listing them to officers.
 */
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type { RetentionClass } from '../store/records.js';
import type { Stores } from '../store/stores.js';

/** One active device and whether the bucket's index key is sealed to it. */
export interface IndexKeyRecipient {
  readonly deviceId: DeviceId;
  readonly userId: UserId;
  readonly retentionClass: RetentionClass;
  /** The 33-byte libsignal identity public key. */
  readonly identityKey: Buffer;
  readonly sealed: boolean;
}

/** One page of recipients; `next` is the cursor of the following page, or null at the end. */
export interface IndexKeyRecipientPage {
  readonly recipients: readonly IndexKeyRecipient[];
  readonly next: DeviceId | null;
}

/** Lists a page of the org's devices (revoked ones skipped) for `bucketId`. */
export async function indexKeyRecipients(
  stores: Stores,
  orgId: OrgId,
  bucketId: string,
  after: DeviceId | null,
  limit: number,
): Promise<IndexKeyRecipientPage> {
  if ((await stores.buckets.get(orgId, bucketId)) === undefined) {
    throw new ServerError('BUCKET_NOT_FOUND', `bucket ${bucketId} is not registered`);
  }
  const sealed = new Set(
    (await stores.buckets.blobsForBucket(orgId, 'index-key', bucketId)).map((b) => b.recipient),
  );
  const devices = await stores.devices.list(orgId, { after, limit });
  const classes = new Map<UserId, RetentionClass | undefined>();
  const recipients: IndexKeyRecipient[] = [];
  for (const d of devices) {
    if (d.revokedAt !== null) continue;
    if (!classes.has(d.userId))
      classes.set(d.userId, (await stores.users.get(orgId, d.userId))?.retentionClass);
    const retentionClass = classes.get(d.userId);
    if (retentionClass === undefined) continue;
    recipients.push({
      deviceId: d.deviceId,
      userId: d.userId,
      retentionClass,
      identityKey: d.identityKey,
      sealed: sealed.has(d.deviceId),
    });
  }
  return { recipients, next: devices.length === limit ? (devices.at(-1)?.deviceId ?? null) : null };
}
