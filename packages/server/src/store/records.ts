/**
 * The rows the server keeps, as domain records. Everything here is public material or a
 * hash of a secret: no private key, no plaintext, no token in the clear (architecture.md §1).
 */
import type { ChallengeId, DeviceId, OrgId, UserId } from '../ids.js';

/** Roles (architecture.md §3); admin and officer are separate duties. */
export const ROLES = ['member', 'admin', 'officer', 'auditor'] as const;
/** A user's role. */
export type Role = (typeof ROLES)[number];

/** Retention classes a user can be placed in (architecture.md §7). */
export const RETENTION_CLASSES = ['transitory', 'standard', 'permanent'] as const;
/** A retention class. */
export type RetentionClass = (typeof RETENTION_CLASSES)[number];
/** The class of a user who follows a role no admin has given a class. */
export const DEFAULT_RETENTION_CLASS: RetentionClass = 'standard';
/** Where a user's class comes from: their own assignment, or their role's class (docs/officers.md §4). */
export const RETENTION_SOURCES = ['user', 'role'] as const;
/** One of {@link RETENTION_SOURCES}. */
export type RetentionSource = (typeof RETENTION_SOURCES)[number];

/** The retention class an admin gave a role in one org; users without their own assignment follow it. */
export interface RoleRetention {
  readonly role: Role;
  readonly retentionClass: RetentionClass;
  readonly setAt: number;
}

/** An officer's public key as registered at the key ceremony. */
export interface OfficerKey {
  readonly index: number;
  readonly publicKey: Buffer;
}

/**
 * A device's binding to an officer (docs/officers.md §2): the officer-signed statement and the
 * officer public key document it verified against when stored.
 */
export interface OfficerBinding {
  readonly officerIndex: number;
  readonly officerPublicKey: Buffer;
  readonly statement: Buffer;
  readonly boundAt: number;
}

/** A device's binding as listed for consoles to check (GET …/officer-bindings). */
export interface StoredOfficerBinding extends OfficerBinding {
  readonly deviceId: DeviceId;
}

/** A device's binding as the auth guard reads it: whether its officer is still listed with the same key. */
export interface OfficerBindingState {
  readonly officerIndex: number;
  /** The org's current officer list names this index with the key the binding was made under. */
  readonly listed: boolean;
}

/** An organisation's public material. */
export interface OrgRecord {
  readonly orgId: OrgId;
  readonly name: string;
  /** Ed25519 public key (32 bytes) of the org signing key. */
  readonly signingPublicKey: Buffer;
  /** base64url SHA-256 of `signingPublicKey`; enrolment codes carry it so devices can pin the org. */
  readonly signingKeyFingerprint: string;
  readonly rootArchivePublicKey: Buffer;
  /** The key-manager delegation: an opaque blob signed by the root, with its validity window. */
  readonly keyManager: { readonly delegation: Buffer; readonly notBefore: number; readonly notAfter: number };
  readonly officerQuorum: number;
  readonly officers: readonly OfficerKey[];
  readonly createdAt: number;
  /**
   * The org-signed archive policy (core/org-docs/archive-policy.ts); absent for orgs created
   * without one, which archive (`required`).
   */
  readonly archivePolicy?: OrgArchivePolicy;
}

/** An organisation's archive policy and the statement, signed by the org signing key, that states it. */
export interface OrgArchivePolicy {
  readonly policy: 'required' | 'none';
  readonly statement: Buffer;
}

/** A key-manager rotation (docs/keys.md §5): the delegation it superseded, the one it installed, and the new key's wraps. */
export interface KeyManagerRotation {
  /** 1 for the org's first rotation, then 2, 3, … */
  readonly seq: number;
  readonly superseded: Buffer;
  readonly delegation: Buffer;
  /** The new key-manager private key sealed to `root` and to each officer index (opaque). */
  readonly wraps: readonly { readonly recipient: string; readonly blob: Buffer }[];
  readonly rotatedBy: string;
  readonly rotatedAt: number;
  readonly logIndex: number;
}

/** A rotation of the org's root archive key by a quorum (docs/keys.md §6). */
export interface RootKeyRotation {
  /** 1 for the org's first rotation, then 2, 3, … */
  readonly seq: number;
  /** The org-signed statement naming the new root archive public key. */
  readonly statement: Buffer;
  /** The root archive public key it replaced. */
  readonly superseded: Buffer;
  readonly issuedAt: number;
  readonly rotatedBy: string;
  readonly rotatedAt: number;
  readonly logIndex: number;
}

/** A change of the org's officer list by a quorum (docs/officers.md §5): the signed list and when it was made. */
export interface OfficerListChange {
  readonly seq: number;
  readonly document: Buffer;
  /** The list's own issue time (`iat`, ms); each change must be later than the last. */
  readonly issuedAt: number;
  readonly changedBy: string;
  readonly changedAt: number;
}

/** A user: an opaque id, a role and a retention class (no names: the server sees opaque ids). */
export interface UserRecord {
  readonly orgId: OrgId;
  readonly userId: UserId;
  readonly role: Role;
  /** The effective class (devices seal to its buckets): the user's own, or their role's when `retentionSource` is 'role'. */
  readonly retentionClass: RetentionClass;
  readonly retentionSource: RetentionSource;
  readonly createdAt: number;
}

/** A user to store; without `retentionSource` the class is the user's own. */
export type NewUser = Omit<UserRecord, 'orgId' | 'retentionSource'> & {
  readonly retentionSource?: RetentionSource;
};

/** A device with its libsignal identity. */
export interface DeviceRecord {
  readonly orgId: OrgId;
  readonly deviceId: DeviceId;
  readonly userId: UserId;
  /** The libsignal device number within the user (1, 2, …). */
  readonly deviceNumber: number;
  /** The 33-byte libsignal identity public key. */
  readonly identityKey: Buffer;
  readonly registrationId: number;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  /**
   * The last instant (ms, inclusive) a revoked device may hand in its archive records, fixed
   * when it was revoked; null when it may not (never revoked, or revoked without a window).
   */
  readonly handInUntil: number | null;
}

/** A device to create; the store assigns the device number. */
export type NewDevice = Omit<DeviceRecord, 'deviceNumber' | 'revokedAt' | 'handInUntil' | 'orgId'>;

/** A signed EC prekey. */
export interface SignedPreKey {
  readonly keyId: number;
  readonly publicKey: Buffer;
  readonly signature: Buffer;
}

/** A one-time EC prekey. */
export interface OneTimePreKey {
  readonly keyId: number;
  readonly publicKey: Buffer;
}

/** A signed Kyber prekey; a last-resort key is never consumed. */
export interface KyberPreKey extends SignedPreKey {
  readonly lastResort: boolean;
}

/** How many prekeys a device has left. */
export interface PrekeyCounts {
  readonly signed: boolean;
  readonly oneTime: number;
  readonly kyber: number;
  readonly lastResortKyber: boolean;
}

/** An enrolment code, stored only as the SHA-256 of its secret. */
export interface NewEnrolmentCode {
  readonly codeHash: Buffer;
  readonly userId: UserId;
  readonly createdBy: DeviceId | null;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** A stored enrolment code (its hash only) and whether it has been used. */
export interface EnrolmentCodeRecord extends NewEnrolmentCode {
  readonly usedAt: number | null;
}

/** What consuming a one-time secret found. */
export type ConsumeOutcome<T> =
  { readonly status: 'ok'; readonly value: T } | { readonly status: 'unknown' | 'expired' | 'used' };

/** An outstanding auth challenge. */
export interface ChallengeRecord {
  readonly challengeId: ChallengeId;
  readonly deviceId: DeviceId;
  readonly challenge: Buffer;
  readonly expiresAt: number;
}

/** A bearer token, stored only as the SHA-256 of its secret, bound to one device. */
export interface AuthTokenRecord {
  readonly tokenHash: Buffer;
  readonly deviceId: DeviceId;
  readonly createdAt: number;
  readonly expiresAt: number;
}

/** Where a bootstrap token came from: printed at first start, or issued by the operator command. */
export type BootstrapSource = 'first-start' | 'operator';

/** One bootstrap token's state; each token creates at most one organisation. */
export interface BootstrapRecord {
  readonly tokenHash: Buffer;
  readonly source: BootstrapSource;
  readonly createdAt: number;
  /** After this it is refused; null for the first-start token (replaced on every start instead). */
  readonly expiresAt: number | null;
  readonly consumedAt: number | null;
  readonly orgId: OrgId | null;
  /** SHA-256 of the canonical request that consumed it, so an identical retry can be recognised. */
  readonly requestHash: Buffer | null;
}

/** What consuming a bootstrap token found; `used` says which org and request spent it. */
export type BootstrapConsumeOutcome =
  | { readonly status: 'ok' }
  | { readonly status: 'unknown' | 'expired' }
  | { readonly status: 'used'; readonly orgId: OrgId; readonly requestHash: Buffer | null };

/** Kinds of admin acts recorded for the org's log. */
export const AUDIT_KINDS = [
  'org.create',
  'user.create',
  'user.role',
  'user.retention',
  'role.retention',
  'enrolment-code.create',
  'device.register',
  'device.revoke',
  'link-code.create',
  'archive.search',
  'archive.read',
  'hold.create',
  'hold.extend',
  'hold.reseal',
  'hold.release',
  'review.rule-add',
  'review.rule-extend',
  'review.rule-reseal',
  'review.rule-remove',
  'review.decide',
  'review.settings',
  'archive.export',
  'alert.rate-limit',
  'completeness.report',
  'completeness.policy',
  'completeness.acknowledge',
  'disposition.plan',
  'disposition.approve',
  'disposition.execute',
  'officers.change',
  'officer.bind',
] as const;
/** An audit kind. */
export type AuditKind = (typeof AUDIT_KINDS)[number];

/** An admin act, waiting for the sequencer to put it in the org's log. Small and secret-free. */
export interface AuditEvent {
  readonly kind: AuditKind;
  /** The device that acted; null for acts authorised by the bootstrap token. */
  readonly actorDeviceId: DeviceId | null;
  /** The id acted upon (user, device, org). */
  readonly subject: string;
  /** A short value such as the new role; never a secret. */
  readonly detail: string | null;
  readonly at: number;
}

/** An audit event in the pending table, with its per-store sequence number. */
export interface PendingAuditEntry extends AuditEvent {
  readonly orgId: OrgId;
  readonly seq: number;
}
