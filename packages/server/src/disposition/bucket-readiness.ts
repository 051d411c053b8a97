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
import { bucketExpiry } from '@custos/core';
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

/**
 * A planned bucket whose retention has not run out at the server's time: when it does (null:
 * never — a class kept permanently, or a bucket this organisation has no record of, which is
 * never destroyed on a plan's word).
 */
export interface UnexpiredBucket {
  readonly bucketId: string;
  /** Its class and period; both null for a bucket the organisation has no record of. */
  readonly retentionClass: string | null;
  readonly period: string | null;
  /** When its retention runs out (ms), or null when it never does. */
  readonly expiresAt: number | null;
}

/**
 * The buckets among `bucketIds` whose retention has not run out at `now`. A plan may be made
 * for a future as-of date (a forecast: what will be disposable then), but its records are
 * destroyed only once their retention has run out by the server's own clock, whatever date
 * the plan names: approving or executing it earlier is refused (DISPOSITION_NOT_DUE), changing
 * nothing, as the officer's console refuses to sign it (PLAN_INVALID). A bucket of a class
 * kept permanently, or one the organisation has no record of, is never due. A bucket that
 * still takes records is never due either (its grace is far shorter than any retention): this
 * check comes first, so the refusal names the date that matters.
 */
export function unexpiredBuckets(
  planned: ReadonlyMap<string, BucketRecord | undefined>,
  now: number,
): UnexpiredBucket[] {
  const out: UnexpiredBucket[] = [];
  for (const [id, b] of planned) {
    if (b === undefined) {
      out.push({ bucketId: id, retentionClass: null, period: null, expiresAt: null });
      continue;
    }
    const expiresAt = bucketExpiry(b);
    if (expiresAt === null || expiresAt > now)
      out.push({ bucketId: b.bucketId, retentionClass: b.retentionClass, period: b.period, expiresAt });
  }
  return out;
}

/**
 * Refuses, changing nothing, to approve or execute anything of `bucketIds` at `now` unless
 * every one of them is due (DISPOSITION_NOT_DUE) and takes no more records
 * (BUCKET_STILL_ACCEPTING; implied by the first for every class, since a retention outlasts
 * the late-upload grace, and kept as its own guard). Each bucket is read once; `outcome` says
 * what the refusal means for the caller.
 */
export async function assertDisposable(
  stores: Stores,
  orgId: OrgId,
  bucketIds: readonly string[],
  now: number,
  outcome: { readonly notDue: string; readonly accepting: string },
): Promise<void> {
  const planned = new Map<string, BucketRecord | undefined>();
  for (const id of bucketIds) planned.set(id, await stores.buckets.get(orgId, id));
  const early = unexpiredBuckets(planned, now);
  if (early.length > 0) throw notDueError(early, outcome.notDue);
  const waiting = [...planned.values()].flatMap((b) =>
    b === undefined ? [] : (waitingBucket(b, now) ?? []),
  );
  if (waiting.length > 0) throw stillAcceptingError(waiting, outcome.accepting);
}

/** DISPOSITION_NOT_DUE naming each bucket and when its retention runs out (`details.buckets`). */
export function notDueError(early: readonly UnexpiredBucket[], outcome: string): ServerError {
  const named = early
    .map((u) =>
      u.retentionClass === null
        ? `bucket ${u.bucketId} is not one of this organisation's buckets`
        : u.expiresAt === null
          ? `bucket ${u.bucketId} (${u.retentionClass} ${u.period}) is kept permanently`
          : `the retention of bucket ${u.bucketId} (${u.retentionClass} ${u.period}) runs out only at ${iso(u.expiresAt)}`,
    )
    .join('; ');
  return new ServerError('DISPOSITION_NOT_DUE', `${named}: ${outcome}`, {
    details: { buckets: early.map((u) => ({ ...u })) },
  });
}
