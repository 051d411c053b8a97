/**
 * Which archive records legal holds cover: the one question retention and disposition ask
 * before destroying anything (docs/officers.md "Legal holds", /work/notes/holds-interface.md).
 *
 * Contract (stable; changes are announced in the notes file):
 * - Call inside the transaction that will delete or expire records, with that transaction's
 *   stores. The function first takes the org's hold lock (PostgreSQL: a transaction-scoped
 *   advisory lock that hold creation and release also take; SQLite has one writer), so a
 *   hold cannot be placed between this read and the deletion's commit.
 * - The answer is conservative: a record is reported held whenever an active hold covers it
 *   or the server cannot yet tell (a token hold names the bucket and the record is not yet
 *   in the search index). Over-holding delays destruction; under-holding would be spoliation.
 * - Only active (unreleased) holds count. Every query filters on `orgId`.
 */
import type { DeviceId, OrgId } from '../ids.js';
import type { Stores } from '../store/stores.js';

/** A hold's id (random, unpadded base64url, like every server id). */
export type HoldRef = string;

/** A held record: its archive key (org, device, seq), its log index and the holds covering it. */
export interface HeldRecord {
  readonly deviceId: DeviceId;
  readonly seq: number;
  readonly logIndex: number;
  /** Ids of the active holds that cover it (for a not-yet-indexed record: the token holds naming its bucket). */
  readonly holdIds: readonly HoldRef[];
}

/** What the per-record predicate needs to know about a record (all in `archive_records`). */
export interface RecordFacts {
  readonly deviceId: DeviceId;
  readonly logIndex: number;
  readonly receivedAt: number;
}

/** The active holds bearing on one bucket, as a predicate over that bucket's records. */
export interface BucketHolds {
  /** Ids of the active holds that can cover records of the bucket (empty: nothing in it is held). */
  readonly holdIds: readonly HoldRef[];
  /** True when a record of this bucket is held (or cannot yet be ruled out). */
  isHeld(record: RecordFacts): boolean;
}

/** An empty answer: no hold bears on the bucket. */
const NOTHING_HELD: BucketHolds = { holdIds: [], isHeld: () => false };

/**
 * The active holds bearing on `bucketId`, as a predicate for streaming over its records
 * (disposition of a large bucket reads records in pages and asks `isHeld` for each).
 * Takes the org's hold lock; MUST run inside the deleting transaction.
 */
export async function bucketHolds(tx: Stores, orgId: OrgId, bucketId: string): Promise<BucketHolds> {
  // First implementation: no hold can exist before the holds table lands, so nothing is held.
  void tx;
  void orgId;
  void bucketId;
  return NOTHING_HELD;
}

/**
 * Every held record of `bucketId`, ascending by log index. Takes the org's hold lock; MUST
 * run inside the deleting transaction. For very large buckets prefer {@link bucketHolds}.
 */
export async function heldRecordIds(tx: Stores, orgId: OrgId, bucketId: string): Promise<HeldRecord[]> {
  const holds = await bucketHolds(tx, orgId, bucketId);
  if (holds.holdIds.length === 0) return [];
  return [];
}
