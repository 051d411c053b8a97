/**
 * The relay's cache of directory reads: each sender device's revocation state and each
 * recipient user's device list, per org, as the batches' prepare read them. An org's entries
 * hold while its directory version (migration 28: bumped by a trigger in the transaction of
 * every change to its devices) is the one they were read at, and every batch reads that
 * version in its own transaction before it uses them: a revocation or enrolment committed by
 * any API node is seen by the next batch exactly as a fresh read would see it.
 *
 * Why that is sound: an entry is added only by a batch that read the version `v` its org's
 * entries are kept under, and it read the entry after that, so the entry shows the devices
 * as they were at `v` or later. A batch that reads `v` again finds no change committed
 * since, so the entry is what a read would return now; a batch that reads anything else
 * drops the org's entries. Entries read by a batch whose org was dropped meanwhile (another
 * batch read a newer version) go into the dropped set, never into the new one.
 */
import {
  RELAY_DIRECTORY_CACHE_MAX_ENTRIES,
  RELAY_DIRECTORY_CACHE_MAX_ORGS,
} from '../config/messaging-defaults.js';
import type { DeviceId, OrgId, UserId } from '../ids.js';
import type { DeviceState } from '../store/messaging-records.js';
import type { Stores } from '../store/stores.js';

/** One org's cached reads, valid while the org's directory version is `version`; only DirectoryCache adds to them. */
export class OrgDirectory {
  /** Sender devices' revocation states; `undefined`: no such device in the org. */
  readonly senders = new Map<DeviceId, DeviceState | undefined>();
  /** Users' devices (revoked ones included); an empty list: no devices. */
  readonly users = new Map<UserId, readonly DeviceState[]>();

  constructor(
    readonly orgId: OrgId,
    readonly version: number,
  ) {}

  /** How many entries this org holds. */
  get size(): number {
    return this.senders.size + this.users.size;
  }
}

/**
 * Per-org cached directory reads, bounded: at most `maxEntries` entries over all orgs and
 * `maxOrgs` orgs. When full, an org gives up its oldest entry, or, holding none, the org
 * validated longest ago gives up its whole set.
 */
export class DirectoryCache {
  /** Orgs in the order they were last validated, oldest first. */
  private readonly orgs = new Map<OrgId, OrgDirectory>();
  private entries = 0;

  constructor(
    private readonly maxEntries: number = RELAY_DIRECTORY_CACHE_MAX_ENTRIES,
    private readonly maxOrgs: number = RELAY_DIRECTORY_CACHE_MAX_ORGS,
  ) {}

  /**
   * Reads the org's directory version in `tx` (one single-row read) and returns the org's
   * entries if they were read at that version, or a new empty set kept under it. Only what
   * the returned set holds may be used in `tx` without a read.
   */
  async validate(tx: Stores, orgId: OrgId): Promise<OrgDirectory> {
    const version = await tx.relayQueue.directoryVersion(orgId);
    const cached = this.orgs.get(orgId);
    if (cached !== undefined) {
      this.orgs.delete(orgId);
      if (cached.version === version) {
        this.orgs.set(orgId, cached);
        return cached;
      }
      this.entries -= cached.size;
    }
    const fresh = new OrgDirectory(orgId, version);
    if (this.orgs.size >= this.maxOrgs) this.dropOldestOrg();
    this.orgs.set(orgId, fresh);
    return fresh;
  }

  /** Keeps a sender's state read in the transaction that validated `dir` (nothing if `dir` was dropped since). */
  rememberSender(dir: OrgDirectory, deviceId: DeviceId, state: DeviceState | undefined): void {
    if (dir.senders.has(deviceId)) dir.senders.set(deviceId, state);
    else if (this.makeRoom(dir)) dir.senders.set(deviceId, state);
  }

  /** Keeps a user's devices read in the transaction that validated `dir` (nothing if `dir` was dropped since). */
  rememberUser(dir: OrgDirectory, userId: UserId, devices: readonly DeviceState[]): void {
    if (dir.users.has(userId)) dir.users.set(userId, devices);
    else if (this.makeRoom(dir)) dir.users.set(userId, devices);
  }

  /** How many entries the cache holds over all orgs. */
  get size(): number {
    return this.entries;
  }

  /** Counts one new entry of `dir`, making room first; false when `dir` is not (or no longer) its org's set. */
  private makeRoom(dir: OrgDirectory): boolean {
    if (this.orgs.get(dir.orgId) !== dir || this.maxEntries <= 0) return false;
    while (this.entries >= this.maxEntries) {
      // Map order is insertion order: the first key is the oldest entry.
      if (dir.senders.size > 0) dir.senders.delete(dir.senders.keys().next().value!);
      else if (dir.users.size > 0) dir.users.delete(dir.users.keys().next().value!);
      else if (this.dropOldestOrg(dir)) continue;
      else break;
      this.entries--;
    }
    this.entries++;
    return true;
  }

  /** Drops the set of the org validated longest ago (other than `keep`); false when there is none. */
  private dropOldestOrg(keep?: OrgDirectory): boolean {
    for (const oldest of this.orgs.values()) {
      if (oldest === keep) continue;
      this.orgs.delete(oldest.orgId);
      this.entries -= oldest.size;
      return true;
    }
    return false;
  }
}
