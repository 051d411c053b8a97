/**
 * Key registration: every accepted bucket key, officer wrap and sealed index key is
 * stored together with a key-event entry in the org's log, in one transaction, so a
 * server that substitutes a key leaves evidence in the log (threat model: malicious server).
 */
import { createHash } from 'node:crypto';
import {
  BucketPublicKey,
  encodeLogEntry,
  checkBucketWithinDelegation,
  openBucketKeyDocument,
  openKeyManagerDelegation,
  type KeyManagerDelegation,
  isCustosError,
} from '@custos/core';
import { ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import { sequenceEntries } from '../log-service/sequencing.js';
import type { BucketRecord, KeyBlobKind } from '../store/bucket-stores.js';
import type { OrgRecord } from '../store/records.js';
import type { Stores } from '../store/stores.js';

/** Sequences a key-event entry committing to `blob` in `tx`; resolves to its log index. */
export async function keyEvent(
  tx: Stores,
  orgId: OrgId,
  actor: DeviceId,
  kind: string,
  subject: string,
  blob: Uint8Array,
  now: number,
): Promise<number> {
  const entry = encodeLogEntry({
    type: 'key-event',
    hash: createHash('sha256').update(blob).digest(),
    size: blob.length,
    actor,
    time: now,
    kind,
    subject,
  });
  return sequenceEntries(tx, orgId, [entry]);
}

/** The org's stored key-manager delegation, opened with its signing key; KEY_MANAGER_INVALID when it does not verify. */
export function storedDelegation(org: OrgRecord): KeyManagerDelegation {
  try {
    return openKeyManagerDelegation(org.keyManager.delegation, org.signingPublicKey);
  } catch (e) {
    const why = isCustosError(e) ? e.message : 'does not verify';
    throw new ServerError('KEY_MANAGER_INVALID', `the stored key-manager delegation: ${why}`, { cause: e });
  }
}

/**
 * Verifies a bucket-key document against the org's key-manager delegation (itself checked
 * against the org signing key) and registers it. The same document again returns the
 * stored bucket; another document under a taken id is BUCKET_CONFLICT.
 */
export async function registerBucket(
  stores: Stores,
  orgId: OrgId,
  actor: DeviceId,
  document: Uint8Array,
  now: number,
): Promise<BucketRecord> {
  const org = await stores.orgs.get(orgId);
  if (org === undefined) throw new ServerError('ORG_NOT_FOUND');
  const delegation = storedDelegation(org);
  if (now < delegation.notBefore || now > delegation.notAfter) {
    throw new ServerError('KEY_MANAGER_INVALID', 'the key-manager delegation is outside its validity window');
  }
  let doc;
  try {
    doc = openBucketKeyDocument(document, delegation.key);
    checkBucketWithinDelegation(doc, delegation);
    await BucketPublicKey.fromBytes(doc.publicKey);
  } catch (e) {
    throw new ServerError('INVALID_KEY', `body.document: ${e instanceof Error ? e.message : 'rejected'}`, {
      cause: e,
    });
  }
  if (doc.org !== orgId) throw new ServerError('INVALID_KEY', 'body.document: names another organisation');
  return stores.withTransaction(async (tx) => {
    const existing = await tx.buckets.get(orgId, doc.bucket);
    if (existing !== undefined) {
      if (Buffer.compare(existing.document, Buffer.from(document)) === 0) return existing;
      throw new ServerError('BUCKET_CONFLICT', `bucket ${doc.bucket} is registered with another key`);
    }
    const logIndex = await keyEvent(tx, orgId, actor, 'bucket-key-published', doc.bucket, document, now);
    const rec: BucketRecord = {
      bucketId: doc.bucket,
      retentionClass: doc.retentionClass,
      period: doc.period,
      notBefore: doc.notBefore,
      notAfter: doc.notAfter,
      publicKey: Buffer.from(doc.publicKey),
      document: Buffer.from(document),
      registeredBy: actor,
      registeredAt: now,
      logIndex,
    };
    if (!(await tx.buckets.create(orgId, rec))) throw new ServerError('BUCKET_CONFLICT');
    return rec;
  });
}

const EVENT_KIND: Record<KeyBlobKind, string> = {
  'officer-wrap': 'bucket-key-wrapped',
  'index-key': 'index-key-sealed',
};

/** Stores an opaque wrap (for an officer) or sealed index key (for a device) of a registered bucket. */
export async function putKeyBlob(
  stores: Stores,
  orgId: OrgId,
  actor: DeviceId,
  kind: KeyBlobKind,
  bucketId: string,
  recipient: string,
  blob: Uint8Array,
  now: number,
): Promise<number> {
  return stores.withTransaction(async (tx) => {
    if ((await tx.buckets.get(orgId, bucketId)) === undefined) {
      throw new ServerError('BUCKET_NOT_FOUND', `bucket ${bucketId} is not registered`);
    }
    const logIndex = await keyEvent(tx, orgId, actor, EVENT_KIND[kind], bucketId, blob, now);
    await tx.buckets.putBlob(orgId, kind, {
      bucketId,
      recipient,
      blob: Buffer.from(blob),
      createdBy: actor,
      createdAt: now,
      logIndex,
    });
    return logIndex;
  });
}
