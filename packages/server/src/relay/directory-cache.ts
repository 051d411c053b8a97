/**
 * The relay's cache of directory reads: each sender device's revocation state and each
 * recipient user's device list, per org, as the batches' prepare read them. An org's entries
 * hold while its directory version (migrations 28 and 29: set by a trigger, in the transaction
 * of every change to its devices, to a random value other than the one it replaces) is the
 * one they were read at, and every batch reads that version in its own transaction before it
 * uses them: a revocation or enrolment committed by any API node is seen by the next batch
 * exactly as a fresh read would see it.
 *
 * Why that is sound: an entry is added only by a batch that read the version `v` of the set
 * it goes into, and it read the entry after that, so the entry shows the devices as they
 * were at `v` or later. A batch that reads `v` again finds no change committed since: a
 * change never keeps the value it replaces, and later changes coming back to `v` (one of
 * some 2^52 random values), or a restore bringing back a row that held it, is negligibly
 * likely. So the entry is what a read would return now; a batch that reads anything else
 * drops the org's set. Entries read by a batch go only into
 * the set of the version it read: into the org's kept set if that is it, into a new set if
 * the org keeps none, otherwise nowhere.
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
  /** Users' devices (revoked ones included); never empty (a user without devices is not kept). */
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
 * `maxOrgs` orgs holding any. When full, the org validated longest ago gives up entries — all
 * its senders' states first, oldest first, then its users' device lists, oldest first — and
 * its set once empty, so an org sending to many recipients does not evict only
 * itself while idle orgs keep theirs; an org that needs a set when `maxOrgs` hold one drops
 * the whole set of the org validated longest ago.
 */
export class DirectoryCache {
  /** Orgs holding entries, in the order they were last validated, oldest first. */
  private readonly orgs = new Map<OrgId, OrgDirectory>();
  private entries = 0;

  constructor(
    private readonly maxEntries: number = RELAY_DIRECTORY_CACHE_MAX_ENTRIES,
    private readonly maxOrgs: number = RELAY_DIRECTORY_CACHE_MAX_ORGS,
  ) {}

  /**
   * Reads the org's directory version in `tx` (one single-row read) and returns the org's
   * entries if they were read at that version, or a new empty set for that version (kept
   * only once it gets an entry). Only what the returned set holds may be used in `tx`
   * without a read.
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
    return new OrgDirectory(orgId, version);
  }

  /** Keeps a sender's state read in the transaction that validated `dir` (nothing if another set of its org is kept). */
  rememberSender(dir: OrgDirectory, deviceId: DeviceId, state: DeviceState | undefined): void {
    if (dir.senders.has(deviceId)) dir.senders.set(deviceId, state);
    else if (this.makeRoom(dir)) dir.senders.set(deviceId, state);
  }

  /**
   * Keeps a user's devices read in the transaction that validated `dir` (nothing if another
   * set of its org is kept). A user without devices is not kept: a send to one is refused
   * anyway, and entries for made-up user ids would push out ones that save reads.
   */
  rememberUser(dir: OrgDirectory, userId: UserId, devices: readonly DeviceState[]): void {
    if (devices.length === 0) return;
    if (dir.users.has(userId)) dir.users.set(userId, devices);
    else if (this.makeRoom(dir)) dir.users.set(userId, devices);
  }

  /** How many entries the cache holds over all orgs. */
  get size(): number {
    return this.entries;
  }

  /** How many orgs hold entries. */
  get orgCount(): number {
    return this.orgs.size;
  }

  /**
   * Counts one new entry of `dir`, making room first, and keeps `dir` as its org's set if
   * the org has none; false when the org keeps another set (a batch validated a newer or
   * older version since: either is sound, since entries serve only batches that read their
   * own set's version, but one set per org keeps the bounds simple).
   */
  private makeRoom(dir: OrgDirectory): boolean {
    if (this.maxEntries <= 0 || this.maxOrgs <= 0) return false;
    const kept = this.orgs.get(dir.orgId);
    if (kept === undefined) {
      if (dir.size > 0) return false; // dropped (evicted, or replaced by a newer set) since it was validated
      while (this.orgs.size >= this.maxOrgs) this.dropOrg(this.orgs.values().next().value!);
      this.orgs.set(dir.orgId, dir);
    } else if (kept !== dir) return false;
    while (this.entries >= this.maxEntries) {
      const oldest = this.oldestHolding();
      if (oldest === undefined) break;
      // The first key of a map is its oldest entry.
      if (oldest.senders.size > 0) oldest.senders.delete(oldest.senders.keys().next().value!);
      else oldest.users.delete(oldest.users.keys().next().value!);
      this.entries--;
      if (oldest.size === 0 && oldest !== dir) this.orgs.delete(oldest.orgId);
    }
    this.entries++;
    return true;
  }

  /** The set holding entries of the org validated longest ago (Map order is insertion order). */
  private oldestHolding(): OrgDirectory | undefined {
    // Only a set just kept for its first entry is empty, so this looks at two sets at most.
    for (const dir of this.orgs.values()) if (dir.size > 0) return dir;
    return undefined;
  }

  /** Drops an org's whole set. */
  private dropOrg(dir: OrgDirectory): void {
    this.orgs.delete(dir.orgId);
    this.entries -= dir.size;
  }
}
