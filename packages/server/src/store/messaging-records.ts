/**
 * Rows of the messaging aggregates: relay queues, prekey claims and blobs. Everything here
 * is ciphertext, public key material or routing data (architecture.md §1): the server can
 * read none of it.
 */
import type { Brand, DeviceId, OrgId, UserId } from '../ids.js';

/** A queued envelope's id: random, so it reveals neither order nor volume. */
export type EnvelopeId = Brand<string, 'EnvelopeId'>;
/** A blob's id: lowercase hex SHA-256 of its (encrypted) content. */
export type BlobId = Brand<string, 'BlobId'>;

/** Who sent an envelope, as the recipient is told. */
export interface EnvelopeSender {
  readonly orgId: OrgId;
  readonly userId: UserId;
  readonly deviceId: DeviceId;
  /** The libsignal device number of the sender within its user. */
  readonly deviceNumber: number;
}

/** An envelope to put in one device's queue. */
export interface NewEnvelope {
  readonly envelopeId: EnvelopeId;
  readonly recipientDeviceId: DeviceId;
  readonly sender: EnvelopeSender;
  /** The libsignal ciphertext message type; opaque to the server. */
  readonly type: number;
  /** The ciphertext, exactly as the sender gave it. */
  readonly content: Buffer;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** An envelope waiting in a device's queue. */
export interface QueuedEnvelope extends NewEnvelope {
  readonly orgId: OrgId;
}

/** How much a queue (or an organisation's blob space) holds. */
export interface Usage {
  readonly count: number;
  readonly bytes: number;
}

/** A blob's metadata row: which organisation uploaded it and how big it is. */
export interface BlobRecord {
  readonly blobId: BlobId;
  readonly size: number;
  readonly uploadedBy: DeviceId;
  readonly createdAt: number;
}

/** What recording an upload did: charged to the org, already there, or refused by the quota. */
/**
 * What `add` did. `content-missing`: the content was removed (by the sweep) after the caller
 * wrote it, so nothing was recorded and the caller writes it again.
 */
export type BlobAddOutcome = 'added' | 'exists' | 'over-quota' | 'content-missing';

/** One blob a stored archive record lists (its header's "att"). */
export interface BlobReference {
  readonly logIndex: number;
  readonly bucketId: string;
  readonly blobId: BlobId;
}

/** What the blob sweep may delete: every upload of the blob is older than `uploadedBefore`. */
export interface BlobSweepLimits {
  readonly uploadedBefore: number;
  /**
   * Clock skew allowed between API nodes: a blob uploaded up to this long after the last
   * record that may reference blobs without listing them is kept as if uploaded before it.
   */
  readonly unlistedMarginMs: number;
}

/** A device as the relay's addressing check sees it. */
export interface DeviceState {
  readonly deviceId: DeviceId;
  readonly revokedAt: number | null;
}

/** A keyed send as the relay remembers it: which device asked what, and what it was answered. */
export interface SendKeyRecord {
  /** The sending device (keys are scoped per org and sending device). */
  readonly deviceId: DeviceId;
  /** The sender's idempotency key (16 random bytes, base64url). */
  readonly key: string;
  /** SHA-256 over the recipient and every envelope of the send (relay/send-keys.ts `sendRequestHash`). */
  readonly requestHash: Buffer;
  /** The answer given, as JSON text (a SendResult). */
  readonly answer: string;
  readonly createdAt: number;
}
