/**
 * Store interfaces of the messaging aggregates (relay queue, prekey claims, blobs). They join
 * `Stores` in stores.ts; like every store, org-scoped methods take the OrgId first and filter
 * on it, and the global ones say so.
 */
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type {
  DeviceState,
  BlobAddOutcome,
  BlobId,
  BlobRecord,
  BlobReference,
  BlobSweepLimits,
  EnvelopeId,
  NewEnvelope,
  QueuedEnvelope,
  SendKeyRecord,
  Usage,
} from './messaging-records.js';
import type { KyberPreKey, OneTimePreKey, SignedPreKey } from './records.js';

/** Per-device queues of ciphertext envelopes, deleted on acknowledgement. */
export interface RelayQueueStore {
  /** Appends envelopes to the queues of devices of `orgId` (the recipients' org). Run inside a transaction. */
  enqueue(orgId: OrgId, envelopes: readonly NewEnvelope[]): Promise<void>;
  /** The oldest unexpired envelopes of one device's queue, in enqueue order, at most `limit`. */
  pending(orgId: OrgId, deviceId: DeviceId, now: number, limit: number): Promise<QueuedEnvelope[]>;
  /** Deletes acknowledged envelopes of one device; ids of other devices are ignored. Resolves to how many went. */
  ack(orgId: OrgId, deviceId: DeviceId, envelopeIds: readonly EnvelopeId[]): Promise<number>;
  /**
   * Deletes envelopes by id alone, whichever queue holds them: for acknowledgements the
   * caller has already tied to the acknowledging device (ids this node pushed to that
   * device's socket), so many devices' acknowledgements take one statement. Never pass ids
   * a client named without that check — use `ack`.
   */
  deletePushed(envelopeIds: readonly EnvelopeId[]): Promise<number>;
  /** How many envelopes and bytes one device's queue holds (expired ones included until swept). */
  usage(orgId: OrgId, deviceId: DeviceId): Promise<Usage>;
  /** Empties one device's queue (revocation). */
  deleteForDevice(orgId: OrgId, deviceId: DeviceId): Promise<number>;
  /** Global sweep: deletes expired envelopes of every org. */
  deleteExpired(now: number): Promise<number>;
  /** The ids and revocation times of a user's devices: what a message to that user must address. */
  userDevices(orgId: OrgId, userId: UserId): Promise<DeviceState[]>;
  /** `userDevices` of several users in one read (a batch's recipients); users without devices are absent. */
  usersDevices(orgId: OrgId, userIds: readonly UserId[]): Promise<Map<UserId, DeviceState[]>>;
  /** The revocation state of these devices of `orgId` in one read (a batch's senders); unknown ids are absent. */
  deviceStates(orgId: OrgId, deviceIds: readonly DeviceId[]): Promise<Map<DeviceId, DeviceState>>;
  /**
   * The org's directory version: set to a new random value (by a trigger, migrations 28 and
   * 29) in the transaction of every insert or delete of one of its devices and every change
   * of a device's org, id, user or revocation; 0 before its first device. Only equality
   * means anything: equal versions mean the org's devices (their ids, users and
   * revocations) are unchanged.
   */
  directoryVersion(orgId: OrgId): Promise<number>;
  /** `usage` of several devices in one read (a batch's recipients); every asked id is present. */
  usages(orgId: OrgId, deviceIds: readonly DeviceId[]): Promise<Map<DeviceId, Usage>>;
  /**
   * The remembered sends of `orgId` whose (sending device, key) is one of `refs`, expired
   * ones included until pruned (a key is remembered at least as long as the retention says).
   */
  sendKeys(
    orgId: OrgId,
    refs: readonly { readonly deviceId: DeviceId; readonly key: string }[],
  ): Promise<SendKeyRecord[]>;
  /**
   * Remembers keyed sends of devices of `orgId` (the senders' org), inside the send's
   * transaction; resolves to how many were stored. A (device, key) remembered already is
   * skipped, not refused: fewer stored than given means another transaction remembered it
   * first (and the first answer stands).
   */
  rememberSends(orgId: OrgId, records: readonly SendKeyRecord[]): Promise<number>;
  /**
   * Global prune: forgets at most `limit` keyed sends of every org remembered before
   * `cutoff`; resolves to how many (fewer than `limit`: none older are left, as far as this
   * statement saw). The caller repeats it, each call its own transaction.
   */
  deleteSendKeysBefore(cutoff: number, limit: number): Promise<number>;
  /**
   * Announces, on commit, that these queues changed, to every API node sharing the store
   * (PostgreSQL NOTIFY on {@link RELAY_NOTIFY_CHANNEL}, payload `<orgId>/<deviceId>`, or
   * `revoked:<orgId>/<deviceId>` when the devices were revoked: their sockets close); a
   * no-op on SQLite, where one process serves the store.
   */
  announce(orgId: OrgId, deviceIds: readonly DeviceId[], event?: 'queue' | 'revoked'): Promise<void>;
}

/** The PostgreSQL notification channel of relay wake-ups. */
export const RELAY_NOTIFY_CHANNEL = 'custos_relay';

/** Reading and consuming prekeys for bundles (uploads go through PrekeyStore). */
export interface PrekeyClaimStore {
  /** The device's signed prekey, or undefined. */
  signedPreKey(orgId: OrgId, deviceId: DeviceId): Promise<SignedPreKey | undefined>;
  /**
   * Deletes and returns one one-time prekey (lowest key id first). Atomic: concurrent calls,
   * on any number of API nodes, never return the same key.
   */
  takeOneTimePreKey(orgId: OrgId, deviceId: DeviceId): Promise<OneTimePreKey | undefined>;
  /** Deletes and returns one one-time Kyber prekey, or returns (keeps) the last-resort one; atomic like above. */
  takeKyberPreKey(orgId: OrgId, deviceId: DeviceId): Promise<KyberPreKey | undefined>;
  /** Replaces the device's last-resort Kyber prekey. Run inside a transaction. */
  replaceLastResortKyberPreKey(orgId: OrgId, deviceId: DeviceId, key: KyberPreKey): Promise<void>;
}

/** Encrypted attachments: content addressed by SHA-256, metadata and quota per organisation. */
export interface BlobStore {
  /**
   * Global: stores the content under its id, durably, before any metadata names it. Idempotent;
   * the caller has checked that `blobId` is the SHA-256 of `content`.
   */
  putContent(blobId: BlobId, content: Buffer): Promise<void>;
  /** Global: the content, or undefined. Only serve it when `find` knows the id. */
  readContent(blobId: BlobId): Promise<Buffer | undefined>;
  /**
   * Records that `orgId` uploaded the blob, charging its size unless that would pass
   * `quotaBytes`. Run inside a transaction: it first holds the content against the sweep
   * (`content-missing` when the sweep removed it since `putContent`).
   */
  add(orgId: OrgId, blob: BlobRecord, quotaBytes: number): Promise<BlobAddOutcome>;
  /** Global: the size of a blob some organisation uploaded, or undefined. */
  find(blobId: BlobId): Promise<{ readonly size: number } | undefined>;
  /** What the organisation's blobs take. */
  usage(orgId: OrgId): Promise<Usage>;
  /**
   * Keeps the references of newly stored archive records, in the ingest's transaction. On
   * PostgreSQL it first takes a shared lock on the named blobs' rows, so a sweep that has
   * not yet deleted one waits for this commit and then sees the reference.
   */
  putReferences(orgId: OrgId, refs: readonly BlobReference[]): Promise<void>;
  /**
   * Notes that a record which may reference blobs without listing them (a client from before
   * the "att" field) was stored at `now`: no blob uploaded before it is ever swept.
   */
  noteUnlistedReferences(now: number): Promise<void>;
  /** Global: up to `limit` blob ids the sweep may delete now (the sweep checks each again). */
  sweepCandidates(limits: BlobSweepLimits, limit: number): Promise<BlobId[]>;
  /**
   * In a transaction: if the blob may still be swept (every rule of sweepCandidates, read
   * again under its rows' locks), deletes every organisation's row of it and gives back their
   * quota. Resolves to whether it did; the content goes with {@link removeUnusedContent}.
   */
  sweepRows(blobId: BlobId, limits: BlobSweepLimits): Promise<boolean>;
  /**
   * In a transaction: removes the blob's content if no organisation has a row of it (an upload
   * that raced the sweep keeps it). Resolves to whether it removed it.
   */
  removeUnusedContent(blobId: BlobId): Promise<boolean>;
}

/** Where blob content lives: files in the data folder (SQLite) or a table (PostgreSQL). */
export interface BlobContentStore {
  /** Stores content durably; idempotent. */
  put(blobId: BlobId, content: Buffer): Promise<void>;
  /** The content, or undefined. */
  get(blobId: BlobId): Promise<Buffer | undefined>;
  /**
   * Whether the content is there, in the caller's transaction; `forRemoval` locks it
   * exclusively, else shared (PostgreSQL). Uploads hold it shared from here to their commit,
   * the sweep exclusively, so neither removes content the other has just counted on.
   */
  hold(blobId: BlobId, forRemoval: boolean): Promise<boolean>;
  /** Removes the content (gone already is fine). */
  remove(blobId: BlobId): Promise<void>;
}
