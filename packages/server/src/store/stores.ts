/**
 * Asynchronous store interfaces, one per aggregate. Every org-scoped method takes the
 * OrgId as its first argument and every query it runs filters on it, so a caller cannot
 * reach another organisation's rows by passing a foreign id. The few global methods
 * (bootstrap, expiry sweeps, org count) say so.
 *
 * Later aggregates (prekey consumption, relay queue, blobs, archive records, log tiles,
 * entries and checkpoints) join `Stores` the same way.
 */
import type { ChallengeId, DeviceId, OrgId, UserId } from '../ids.js';
import type {
  AuditEvent,
  AuthTokenRecord,
  BootstrapConsumeOutcome,
  BootstrapRecord,
  ChallengeRecord,
  ConsumeOutcome,
  DeviceRecord,
  KyberPreKey,
  NewDevice,
  NewUser,
  EnrolmentCodeRecord,
  NewEnrolmentCode,
  OneTimePreKey,
  KeyManagerRotation,
  RootKeyRotation,
  OfficerBinding,
  OfficerBindingState,
  StoredOfficerBinding,
  OfficerKey,
  OfficerListChange,
  OrgRecord,
  PendingAuditEntry,
  PrekeyCounts,
  RetentionClass,
  Role,
  RoleRetention,
  SignedPreKey,
  UserRecord,
} from './records.js';
import type { BlobStore, PrekeyClaimStore, RelayQueueStore } from './messaging-stores.js';
import type { ArchiveStore } from './archive-stores.js';
import type { BucketStore } from './bucket-stores.js';
import type { LogStore } from './log-stores.js';
import type { SearchStore } from './search-stores.js';
import type { DispositionStore } from './disposition-stores.js';
import type { CompletenessStore } from './completeness-stores.js';
import type { ReviewStore } from './review-stores.js';
import type { HoldStore } from './hold-stores.js';

/** A page request: rows after the given id (exclusive), at most `limit`. */
export interface Page<K> {
  readonly after: K | null;
  readonly limit: number;
}

/** Organisations. */
export interface OrgStore {
  /** Stores a new organisation with its officer keys. */
  create(org: OrgRecord): Promise<void>;
  /** The organisation, or undefined. */
  get(orgId: OrgId): Promise<OrgRecord | undefined>;
  /** Whether the organisation archives (policy `required`); undefined when no such org. */
  archives(orgId: OrgId): Promise<boolean | undefined>;
  /** Replaces the key-manager delegation (a quorum re-issued it); false when no such org. */
  setKeyManager(orgId: OrgId, keyManager: OrgRecord['keyManager']): Promise<boolean>;
  /** Records a key-manager rotation (the caller also sets the new delegation, in the same transaction). */
  addKeyManagerRotation(orgId: OrgId, rotation: KeyManagerRotation): Promise<void>;
  /** The org's rotations, oldest first, with their wraps. */
  keyManagerRotations(orgId: OrgId): Promise<KeyManagerRotation[]>;
  /**
   * Holds the org's officer list unchanged until the transaction ends (PostgreSQL: a share lock
   * on the org's row, which replaceOfficers updates; SQLite has one writer). Acts judged against
   * the list in force when they are logged (an acknowledgement, a disposition certificate) read
   * it after this, so no officer change commits between that read and the act.
   */
  lockOfficerList(orgId: OrgId): Promise<void>;
  /** Replaces the org's officer keys and quorum (a quorum signed the new list); records the change. */
  replaceOfficers(
    orgId: OrgId,
    officers: readonly OfficerKey[],
    quorum: number,
    change: OfficerListChange,
  ): Promise<void>;
  /** Records a root archive key rotation and makes `publicKey` the org's current root key. */
  addRootKeyRotation(orgId: OrgId, rotation: RootKeyRotation, publicKey: Buffer): Promise<void>;
  /** The org's root archive key rotations, oldest first. */
  rootKeyRotations(orgId: OrgId): Promise<RootKeyRotation[]>;
  /**
   * Replaces every root wrap of a key-manager key: deletes them all, then stores `blob` as the
   * root wrap of rotation `seq` (the current key's) when given.
   */
  replaceKeyManagerRootWraps(orgId: OrgId, current: { seq: number; blob: Buffer } | undefined): Promise<void>;
  /** The org's last officer-list change, if any. */
  lastOfficerListChange(orgId: OrgId): Promise<OfficerListChange | undefined>;
  /** Every officer-list change of the org, oldest first (GET …/officers/history). */
  officerListChanges(orgId: OrgId): Promise<OfficerListChange[]>;
  /** Global: how many organisations exist (first start checks for zero). */
  count(): Promise<number>;
}

/** Users of one organisation. */
export interface UserStore {
  /** Stores a new user. */
  create(orgId: OrgId, user: NewUser): Promise<void>;
  /** The user, or undefined (also for another org's user id). */
  get(orgId: OrgId, userId: UserId): Promise<UserRecord | undefined>;
  /** Users ordered by id. */
  list(orgId: OrgId, page: Page<UserId>): Promise<UserRecord[]>;
  /**
   * Locks the user's row until the transaction ends, so that transactions adding a device to
   * the user run one after the other: each sees the devices the one before added (the
   * USER_HAS_DEVICE check, the next device number). PostgreSQL runs READ COMMITTED, so
   * without it two could both find no device and both add one. A no-op on SQLite, whose
   * write transactions never overlap.
   */
  lockForDevices(orgId: OrgId, userId: UserId): Promise<void>;
  /** Sets the role (a user who follows their role takes the new role's class); false when no such user. */
  setRole(orgId: OrgId, userId: UserId, role: Role): Promise<boolean>;
  /** Gives the user their own retention class (it overrides the role's); false when no such user. */
  setRetentionClass(orgId: OrgId, userId: UserId, retentionClass: RetentionClass): Promise<boolean>;
  /** Drops the user's own class: they follow their role's from now on; false when no such user. */
  followRole(orgId: OrgId, userId: UserId): Promise<boolean>;
  /** The classes admins gave roles in the org (roles not listed give DEFAULT_RETENTION_CLASS). */
  roleRetention(orgId: OrgId): Promise<RoleRetention[]>;
  /** Sets a role's class and moves the users who follow it; resolves to how many follow it. */
  setRoleRetention(orgId: OrgId, rule: RoleRetention): Promise<number>;
}

/** Devices of one organisation. */
export interface DeviceStore {
  /**
   * Stores a device, numbering it after the user's existing devices. Run inside a transaction
   * that took {@link UserStore.lockForDevices} first: otherwise two concurrent ones can pick
   * the same number, and the later one rejects with `DeviceNumberTakenError`.
   */
  create(orgId: OrgId, device: NewDevice): Promise<DeviceRecord>;
  /** The device, or undefined. */
  get(orgId: OrgId, deviceId: DeviceId): Promise<DeviceRecord | undefined>;
  /** Devices ordered by id, optionally of one user. */
  list(orgId: OrgId, page: Page<DeviceId>, userId?: UserId): Promise<DeviceRecord[]>;
  /**
   * Marks the device revoked at `at`, with its archive hand-in deadline (null or absent: none); false
   * when unknown or already revoked.
   */
  revoke(orgId: OrgId, deviceId: DeviceId, at: number, handInUntil?: number | null): Promise<boolean>;
  /**
   * Stores the device's officer binding unless it has one; resolves to the binding the device
   * has afterwards (the given one when stored, else the earlier one: bindings never change).
   */
  bindOfficer(
    orgId: OrgId,
    deviceId: DeviceId,
    binding: OfficerBinding,
  ): Promise<{
    readonly stored: boolean;
    readonly binding: OfficerBinding;
  }>;
  /** The device's officer binding checked against the org's current officer list, or undefined. */
  officerBinding(orgId: OrgId, deviceId: DeviceId): Promise<OfficerBindingState | undefined>;
  /**
   * The org's officer bindings as stored (the officer-signed statements), by device id after
   * `page.after`: every binding ever made, its officer still listed or not (rows never change).
   */
  officerBindings(orgId: OrgId, page: Page<DeviceId>): Promise<StoredOfficerBinding[]>;
}

/** Prekeys of devices. Consumption arrives with the prekey routes. */
export interface PrekeyStore {
  /** Sets (replaces) the device's signed prekey. */
  putSignedPreKey(orgId: OrgId, deviceId: DeviceId, key: SignedPreKey): Promise<void>;
  /** Adds one-time prekeys, ignoring key ids already present; resolves to how many were added. */
  addOneTimePreKeys(orgId: OrgId, deviceId: DeviceId, keys: readonly OneTimePreKey[]): Promise<number>;
  /** Adds Kyber prekeys, ignoring key ids already present; resolves to how many were added. */
  addKyberPreKeys(orgId: OrgId, deviceId: DeviceId, keys: readonly KyberPreKey[]): Promise<number>;
  /** What the device has left. */
  counts(orgId: OrgId, deviceId: DeviceId): Promise<PrekeyCounts>;
}

/** One-time enrolment codes, stored hashed. */
export interface EnrolmentCodeStore {
  /** Stores a new code. */
  create(orgId: OrgId, code: NewEnrolmentCode): Promise<void>;
  /** Marks the code used if it is known, unused and unexpired; the value is the user it enrols. */
  consume(orgId: OrgId, codeHash: Buffer, now: number): Promise<ConsumeOutcome<UserId>>;
  /** The code with this hash, used or not, or undefined. */
  find(orgId: OrgId, codeHash: Buffer): Promise<EnrolmentCodeRecord | undefined>;
  /** How many codes for `userId` `deviceId` has issued at or after `since` (link-code rate limit). */
  countCreatedBy(orgId: OrgId, deviceId: DeviceId, userId: UserId, since: number): Promise<number>;
  /**
   * Expires, as of `now`, every unused, unexpired code `deviceId` issued (its device is being
   * revoked); resolves to how many.
   */
  expireIssuedBy(orgId: OrgId, deviceId: DeviceId, now: number): Promise<number>;
}

/** Single-use auth challenges. */
export interface AuthChallengeStore {
  /** Stores a challenge. */
  create(orgId: OrgId, challenge: ChallengeRecord): Promise<void>;
  /** Deletes and returns the challenge (single use), or undefined. */
  take(orgId: OrgId, challengeId: ChallengeId): Promise<ChallengeRecord | undefined>;
  /** Global sweep: deletes expired challenges of every org. */
  deleteExpired(now: number): Promise<number>;
}

/** A token with its device and user, as read for one request. */
export interface AuthSession {
  readonly token: AuthTokenRecord;
  readonly device: DeviceRecord | undefined;
  readonly user: UserRecord | undefined;
}

/** Device-bound bearer tokens, stored hashed. */
export interface AuthTokenStore {
  /** Stores a token. */
  create(orgId: OrgId, token: AuthTokenRecord): Promise<void>;
  /** The token with this hash, or undefined. */
  find(orgId: OrgId, tokenHash: Buffer): Promise<AuthTokenRecord | undefined>;
  /**
   * The token with this hash and, read in the same query, its device and that device's
   * user as they are now (absent when missing): what authenticating a request needs, in
   * one round trip. Nothing is cached, so a revocation shows on the next call.
   */
  findSession(orgId: OrgId, tokenHash: Buffer): Promise<AuthSession | undefined>;
  /** Deletes every token of a device (on revocation). */
  deleteForDevice(orgId: OrgId, deviceId: DeviceId): Promise<number>;
  /** Global sweep: deletes expired tokens of every org. */
  deleteExpired(now: number): Promise<number>;
}

/** Global: the install's one-time bootstrap tokens, each creating at most one organisation. */
export interface BootstrapStore {
  /** The token with this hash, or undefined. */
  get(tokenHash: Buffer): Promise<BootstrapRecord | undefined>;
  /** First start: replaces any unused first-start token with this one; false once any token has been used. */
  replace(tokenHash: Buffer, createdAt: number): Promise<boolean>;
  /** Stores a token issued by the operator (`custos server bootstrap-token`), refused after `expiresAt`. */
  issue(tokenHash: Buffer, createdAt: number, expiresAt: number): Promise<void>;
  /** Spends the token for `orgId` if it is known, unused and unexpired, keeping the request's hash. */
  consume(
    tokenHash: Buffer,
    orgId: OrgId,
    requestHash: Buffer,
    now: number,
  ): Promise<BootstrapConsumeOutcome>;
  /** How many tokens are unused and unexpired. */
  countOutstanding(now: number): Promise<number>;
}

/** Admin acts waiting for the sequencer. */
export interface AuditPendingStore {
  /** Appends an event; resolves to its sequence number. */
  append(orgId: OrgId, event: AuditEvent): Promise<number>;
  /** Pending entries of the org after `afterSeq`, oldest first. */
  list(orgId: OrgId, afterSeq: number, limit: number): Promise<PendingAuditEntry[]>;
  /** The org's latest `officers.change` act, or undefined when its officers never changed. */
  latestOfficersChange(orgId: OrgId): Promise<PendingAuditEntry | undefined>;
  /** Every `officers.change` act of the org, oldest first. */
  officersChanges(orgId: OrgId): Promise<PendingAuditEntry[]>;
}

/** Every store, plus transactions. */
export interface Stores {
  readonly orgs: OrgStore;
  readonly users: UserStore;
  readonly devices: DeviceStore;
  readonly prekeys: PrekeyStore;
  readonly enrolmentCodes: EnrolmentCodeStore;
  readonly authChallenges: AuthChallengeStore;
  readonly authTokens: AuthTokenStore;
  readonly bootstrap: BootstrapStore;
  readonly auditPending: AuditPendingStore;
  readonly prekeyClaims: PrekeyClaimStore;
  readonly relayQueue: RelayQueueStore;
  readonly blobs: BlobStore;
  readonly log: LogStore;
  readonly archive: ArchiveStore;
  readonly buckets: BucketStore;
  readonly search: SearchStore;
  /** Disposition plans, approvals and progress (docs/officers.md "Retention and disposition"). */
  readonly disposition: DispositionStore;
  /** Supervision review and the audit-act index (docs/officers.md). */
  readonly review: ReviewStore;
  readonly holds: HoldStore;
  /** Archive completeness summaries, the completeness policy and alert acts. */
  readonly completeness: CompletenessStore;
  /**
   * Reads of committed state that wait neither behind queued writes nor for durability
   * (SqlDatabase.committedReads); absent where the stores above already read that way.
   * Only for checks acted on conservatively (the relay socket's revocation re-check).
   */
  readonly committed?: CommittedReads;
  /**
   * Runs `fn` with stores bound to one transaction: all its writes commit together or not
   * at all. Inside `fn`, `tx.withTransaction` joins the same transaction (its `onCommitted`
   * runs when that one commits).
   *
   * `onCommitted` runs once the transaction has committed and never if it did not: what it
   * wrote is then what every later transaction and read sees. On SQLite that is before the
   * commit's WAL sync has made it durable (the returned promise still resolves only after
   * it), so only work that may go out before durability belongs there — the relay's pushes
   * of committed envelopes to recipient sockets (docs/relay.md), never an acknowledgement.
   * It must not throw: the transaction has committed whatever it does.
   */
  withTransaction<T>(fn: (tx: Stores) => Promise<T>, onCommitted?: () => void): Promise<T>;
}

/** The stores that have committed-state reads (see Stores.committed). */
export interface CommittedReads {
  readonly devices: Pick<DeviceStore, 'get'>;
}

/** An opened backend. */
export interface StoreBackend extends Stores {
  /** `sqlite` or `postgres`. */
  readonly kind: 'sqlite' | 'postgres';
  /** Closes connections after running work finishes. */
  close(): Promise<void>;
}
