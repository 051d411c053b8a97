/**
 * Buckets the server reported disposed of (its BUCKET_DISPOSED refusal: an approved
 * disposition destroyed the bucket's keys, docs/keys.md §3). No record sealed to such a
 * bucket can ever be archived, so the device forgets the bucket's key: capture never
 * chooses it again (nor does a bucket refresh store it again), records still pending are
 * sealed to the current bucket instead (capture.ts), and the records already sealed to it
 * are never sent again: the upload declares them lost in a signed gap declaration (reason
 * `bucket-disposed`, chain-recovery.ts disposedRun), goes on once the server has accepted
 * it, and drops them only once its log entry is proven (uploader.ts, gap-proofs.ts). Before, the device sent the refused batch again
 * on every round, for good, and then stopped archiving for good behind those records.
 *
 * The server's word is a claim, checked before anything changes (checkDisposalClaim): the
 * bucket must be one the refused batch's records are sealed to, and the device's own verified
 * document of it must show that its window and the late-upload grace (core
 * BUCKET_LATE_UPLOAD_GRACE_MS) have ended by the device's clock — before then no disposition
 * can have destroyed its keys (the server refuses to, BUCKET_STILL_ACCEPTING). Believed as it
 * stood, a lying server could name the current bucket: the device forgot its key for good,
 * could seal nothing (CAPTURE_REQUIRED), and declared its queued records lost.
 */
import { BUCKET_LATE_UPLOAD_GRACE_MS } from '@custos/core';
import type { VerifiedBucket } from '../enrol/org-keys.js';
import { ClientError, type ServerRefusal } from '../errors.js';
import type { LocalStore } from '../store/local-store.js';

/** A bucket whose keys a disposition destroyed, as the server named it. */
export interface DisposedBucket {
  readonly bucketId: string;
  /** The disposition plan that destroyed its keys. */
  readonly planId: string;
  /** When (server time, ms). */
  readonly disposedAt: number;
}

const DISPOSED_BUCKETS = 'disposed-buckets';

/** The buckets this device learned were disposed of, in the order it learned them. */
export function disposedBuckets(store: LocalStore): DisposedBucket[] {
  return store.getJson<DisposedBucket[]>('archive-state', DISPOSED_BUCKETS) ?? [];
}

/** Their ids. */
export function disposedBucketIds(store: LocalStore): Set<string> {
  return new Set(disposedBuckets(store).map((d) => d.bucketId));
}

/** The disposal a BUCKET_DISPOSED refusal names (`error.details`), or undefined when it names none. */
export function disposalOf(refusal: ServerRefusal): DisposedBucket | undefined {
  const d = refusal.details;
  if (typeof d !== 'object' || d === null) return undefined;
  const { bucketId, planId, disposedAt } = d as Record<string, unknown>;
  if (typeof bucketId !== 'string' || typeof planId !== 'string' || typeof disposedAt !== 'number')
    return undefined;
  return { bucketId, planId, disposedAt };
}

/**
 * Throws ARCHIVE_UPLOAD_FAILED, changing nothing, unless `d` is credible: its bucket is one of
 * `refusedBuckets` (the buckets of the batch the server refused) and this device's verified
 * document of it shows its window plus the late-upload grace over at `now`.
 */
export function checkDisposalClaim(
  store: LocalStore,
  d: DisposedBucket,
  refusedBuckets: ReadonlySet<string>,
  now: number,
): void {
  const disbelieved = (why: string): ClientError =>
    new ClientError(
      'ARCHIVE_UPLOAD_FAILED',
      `the server says bucket ${d.bucketId} was disposed of under plan ${d.planId}, but ${why}: ` +
        'not believed, the records and the bucket key are kept',
    );
  if (!refusedBuckets.has(d.bucketId)) throw disbelieved('no record of the refused batch is sealed to it');
  const b = store.getJson<VerifiedBucket>('buckets', d.bucketId);
  if (b === undefined) throw disbelieved('this device holds no verified document of that bucket');
  const until = b.notAfter + BUCKET_LATE_UPLOAD_GRACE_MS;
  if (now <= until)
    throw disbelieved(
      `the bucket takes records until ${new Date(until).toISOString()} (its window and the late-upload grace), so no disposition can have destroyed its keys`,
    );
}

/**
 * Records that `d`'s bucket was disposed of and forgets its key (one store transaction);
 * resolves to false when the bucket was noted already (nothing changes).
 */
export function noteDisposedBucket(store: LocalStore, d: DisposedBucket): boolean {
  return store.transaction(() => {
    const known = disposedBuckets(store);
    if (known.some((k) => k.bucketId === d.bucketId)) return false;
    store.putJson('archive-state', DISPOSED_BUCKETS, [...known, d]);
    store.delete('buckets', d.bucketId);
    return true;
  });
}
