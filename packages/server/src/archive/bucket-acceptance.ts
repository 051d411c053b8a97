/**
 * When a bucket takes records: from the start of its window to its end plus the late-upload
 * grace (BUCKET_LATE_UPLOAD_GRACE_MS). Ingest (batch-commit.ts) accepts a record only inside
 * this span, and disposition (disposition/bucket-readiness.ts) destroys no bucket's keys
 * before it has ended: a record that reaches a bucket whose keys are gone can never be opened.
 * One rule in one place, so the two cannot drift apart.
 */
import type { BucketRecord } from '../store/bucket-stores.js';
import { BUCKET_LATE_UPLOAD_GRACE_MS } from './archive-defaults.js';

/** The last instant (ms, inclusive) at which the server accepts a record sealed to `b`. */
export function recordsAcceptedUntil(b: Pick<BucketRecord, 'notAfter'>): number {
  return b.notAfter + BUCKET_LATE_UPLOAD_GRACE_MS;
}

/** Whether ingest accepts a record sealed to `b` at `now` (windows are inclusive at both ends). */
export function acceptsRecordsAt(b: Pick<BucketRecord, 'notBefore' | 'notAfter'>, now: number): boolean {
  return b.notBefore <= now && now <= recordsAcceptedUntil(b);
}

/** Whether `b` accepts records at `now` or may still at a later time (its window has not begun yet). */
export function mayStillAcceptRecords(b: Pick<BucketRecord, 'notAfter'>, now: number): boolean {
  return now <= recordsAcceptedUntil(b);
}
