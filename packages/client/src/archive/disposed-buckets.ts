/**
 * Buckets the server reported disposed of (its BUCKET_DISPOSED refusal: an approved
 * disposition destroyed the bucket's keys, docs/keys.md §3). No record sealed to such a
 * bucket can ever be archived, so the device forgets the bucket's key: capture never
 * chooses it again (nor does a bucket refresh store it again), records still pending are
 * sealed to the current bucket instead (capture.ts), and the records already sealed to it
 * are never sent again: the upload declares them lost in a signed gap declaration (reason
 * `bucket-disposed`, chain-recovery.ts disposedRun), drops them once the server has
 * accepted it, and goes on (uploader.ts). Before, the device sent the refused batch again
 * on every round, for good, and then stopped archiving for good behind those records.
 *
 * The server's word is taken as it is: a server that lied could only stop this device from
 * archiving, which refusing its uploads does as well.
 */
import type { ServerRefusal } from '../errors.js';
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
