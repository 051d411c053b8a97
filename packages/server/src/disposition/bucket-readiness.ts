/**
 * Whether a bucket may be disposed of yet: not while it can still take records. A plan for a
 * future as-of date can name a bucket that has expired by then but that devices still seal
 * records to (this month's, next month's); destroying its keys now would make every record
 * that reaches it afterwards unreadable, lost without anyone noticing. So the server decides
 * by its own clock, whatever date the officer asked for: a bucket whose acceptance span
 * (archive/bucket-acceptance.ts: window end plus the late-upload grace) has not ended is left
 * out of every new plan, and approving or executing a plan that holds one (made before this
 * rule) is refused with BUCKET_STILL_ACCEPTING, changing nothing. Its records wait for the
 * first plan made after the span ends.
 */
import { mayStillAcceptRecords, recordsAcceptedUntil } from '../archive/bucket-acceptance.js';
import { ServerError } from '../errors.js';
import type { OrgId } from '../ids.js';
import type { BucketRecord } from '../store/bucket-stores.js';
import type { Stores } from '../store/stores.js';

/** A bucket that cannot be disposed of yet, and from when it can. */
export interface WaitingBucket {
  readonly bucketId: string;
  readonly retentionClass: string;
  readonly period: string;
  /** The last instant the server accepts a record sealed to it (ms). */
  readonly recordsAcceptedUntil: number;
  /** The first instant a disposition may destroy its keys (ms): one past `recordsAcceptedUntil`. */
  readonly disposableFrom: number;
}

/** `b` as a waiting bucket when it may still take records at `now`, else null. */
export function waitingBucket(b: BucketRecord, now: number): WaitingBucket | null {
  if (!mayStillAcceptRecords(b, now)) return null;
  const until = recordsAcceptedUntil(b);
  return {
    bucketId: b.bucketId,
    retentionClass: b.retentionClass,
    period: b.period,
    recordsAcceptedUntil: until,
    disposableFrom: until + 1,
  };
}

/** The buckets among `bucketIds` that may still take records at `now`. */
export async function waitingBuckets(
  stores: Stores,
  orgId: OrgId,
  bucketIds: readonly string[],
  now: number,
): Promise<WaitingBucket[]> {
  const out: WaitingBucket[] = [];
  for (const id of bucketIds) {
    const b = await stores.buckets.get(orgId, id);
    const w = b === undefined ? null : waitingBucket(b, now);
    if (w !== null) out.push(w);
  }
  return out;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * BUCKET_STILL_ACCEPTING naming each bucket, until when it takes records and from when it can
 * be disposed of (`details.buckets`, machine-readable); `outcome` says what the refusal means.
 */
export function stillAcceptingError(waiting: readonly WaitingBucket[], outcome: string): ServerError {
  const named = waiting
    .map(
      (w) =>
        `bucket ${w.bucketId} still accepts records until ${iso(w.recordsAcceptedUntil)} ` +
        `(its window's end plus the late-upload grace), so its keys cannot be destroyed before ${iso(w.disposableFrom)}`,
    )
    .join('; ');
  return new ServerError('BUCKET_STILL_ACCEPTING', `${named}: ${outcome}`, {
    details: { buckets: waiting.map((w) => ({ ...w })) },
  });
}
