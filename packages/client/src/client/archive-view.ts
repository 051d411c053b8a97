/**
 * What a client reports about its archive capture, read from the profile alone (works
 * offline): queue depth, chain position, upload position, verified receipts, the last
 * checkpoint verified and the bucket keys refused at verification.
 */
import { declaredGaps, disposedRun, type DeclaredGap } from '../archive/chain-recovery.js';
import { loadChain } from '../archive/capture.js';
import { refusedBuckets, type RefusedBucket } from '../archive/bucket-keys.js';
import { disposedBuckets, type DisposedBucket } from '../archive/disposed-buckets.js';
import { acceptedGapProofs } from '../archive/gap-proofs.js';
import { uploadedThrough, type ArchiveReceiptRow } from '../archive/uploader.js';
import type { DeviceProfile } from '../profile.js';
import { decodeJson } from '../store/json-codec.js';
import type { LocalStore } from '../store/local-store.js';

/** Archive status for `custos archive status`. */
export interface ArchiveStatus {
  /** Capture is on: the org's signed archive policy is `required` (it cannot be switched off). */
  readonly required: boolean;
  /** The org's archive policy as verified at enrolment: `none` means nothing is captured or uploaded. */
  readonly archivePolicy: 'required' | 'none';
  /** Records captured and not yet proven (still in the queue). */
  readonly queued: number;
  readonly nextSeq: number;
  readonly uploadedThrough: number;
  readonly receipts: number;
  readonly lastReceiptSeq: number | undefined;
  readonly lastVerifiedTreeSize: number | undefined;
  readonly refusedBuckets: readonly RefusedBucket[];
  /**
   * Runs of this device's records declared lost, with their reason (docs/archive-format.md
   * §6.1): acknowledged by a server that was then restored from an older backup, after the
   * device had let them go (`server-restored`), or sealed to a bucket whose keys a
   * disposition destroyed before they were archived (`bucket-disposed`).
   */
  readonly declaredGaps: readonly DeclaredGap[];
  /**
   * Runs declared lost that the server accepted but whose log entry is not proven yet: their
   * records stay queued (counted in `queued`) until the next proof pass proves it.
   */
  readonly gapsAwaitingProof: readonly DeclaredGap[];
  /**
   * Buckets the server reported disposed of (their keys destroyed): the device no longer
   * seals to them, and declares records already sealed to one lost instead of sending them.
   */
  readonly disposedBuckets: readonly DisposedBucket[];
  /**
   * The queued records sealed to a disposed bucket that the upload stops at, not yet declared
   * lost (the next upload declares them; until the server accepts, nothing after them is sent).
   */
  readonly undeclaredDisposed: { readonly firstSeq: number; readonly lastSeq: number } | undefined;
}

/** Verified receipts kept by this device (tlog-proof@v1 text), by sequence number. */
export function archiveReceipts(store: LocalStore): ArchiveReceiptRow[] {
  return store
    .list('archive-receipts')
    .map((r) => decodeJson<ArchiveReceiptRow>(r.value))
    .filter((r) => r.receipt !== undefined);
}

/** Queue depth, last receipt, last verified checkpoint. */
export function archiveStatus(store: LocalStore, profile: DeviceProfile): ArchiveStatus {
  const proven = archiveReceipts(store);
  const disposed = disposedBuckets(store);
  const stuck = disposed.length === 0 ? undefined : disposedRun(store, uploadedThrough(store) + 1);
  const cp = store.getJson<{ treeSize: number }>('archive-state', 'last-checkpoint');
  return {
    required: profile.captureRequired,
    archivePolicy: profile.captureRequired ? 'required' : 'none',
    queued: store.count('archive-queue'),
    nextSeq: loadChain(store).nextSeq,
    uploadedThrough: uploadedThrough(store),
    receipts: proven.length,
    lastReceiptSeq: proven.at(-1)?.seq,
    lastVerifiedTreeSize: cp?.treeSize,
    refusedBuckets: refusedBuckets(store),
    declaredGaps: declaredGaps(store),
    gapsAwaitingProof: acceptedGapProofs(store).map((g) => ({
      firstSeq: g.firstSeq,
      lastSeq: g.lastSeq,
      reason: g.reason,
      logIndex: g.logIndex,
    })),
    disposedBuckets: disposed,
    undeclaredDisposed:
      stuck === undefined ? undefined : { firstSeq: stuck.firstSeq, lastSeq: stuck.lastSeq },
  };
}
