/**
 * What a client reports about its archive capture, read from the profile alone (works
 * offline): queue depth, chain position, upload position, verified receipts, the last
 * checkpoint verified, the bucket keys refused at verification, and declarations of lost
 * records and record batches the server accepted but has not shown in its log (overdue after
 * GAP_PROOF_OVERDUE_MS).
 */
import { declaredGaps, disposedRun, type DeclaredGap } from '../archive/chain-recovery.js';
import { loadChain } from '../archive/capture.js';
import { refusedBuckets, type RefusedBucket } from '../archive/bucket-keys.js';
import { disposedBuckets, type DisposedBucket } from '../archive/disposed-buckets.js';
import { acceptedGapProofs, GAP_PROOF_OVERDUE_MS, gapProofWaited } from '../archive/gap-proofs.js';
import { batchProofWaited, decodeUploadedBatch } from '../archive/upload-rows.js';
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
   * records stay queued (counted in `queued`) until a proof pass proves it — however long
   * that takes; an entry missing for GAP_PROOF_OVERDUE_MS is reported `overdue`.
   */
  readonly gapsAwaitingProof: readonly AwaitingGapProof[];
  /**
   * Record batches the server acknowledged whose records are not all proven in its log yet:
   * they stay queued (counted in `queued`) until a proof pass proves them — however long that
   * takes; a batch whose records are missing for GAP_PROOF_OVERDUE_MS is reported `overdue`.
   */
  readonly batchesAwaitingProof: readonly AwaitingBatchProof[];
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

/** A declaration the server accepted whose log entry is not proven yet. */
export interface AwaitingGapProof extends DeclaredGap {
  /**
   * When the server accepted it (this device's clock, ms); undefined for one an older client
   * accepted, until the next proof pass notes it.
   */
  readonly acceptedAt: number | undefined;
  /** How long its entry has been missing from the log (ms), when `acceptedAt` is known. */
  readonly waitedMs: number | undefined;
  /**
   * Missing for GAP_PROOF_OVERDUE_MS or longer: an honest server logs it at once, so this one
   * is broken or withholding it. Its records stay queued all the same.
   */
  readonly overdue: boolean;
}

/** A record batch the server acknowledged whose records are not all proven in its log yet. */
export interface AwaitingBatchProof {
  /** Its records' sequence numbers, first and last. */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /**
   * When the server acknowledged it (this device's clock, ms); undefined for one acknowledged
   * to an older client, until the next proof pass that finds a record of it unlogged notes it.
   */
  readonly acknowledgedAt: number | undefined;
  /** How long its records have waited for their log entries (ms), when `acknowledgedAt` is known. */
  readonly waitedMs: number | undefined;
  /**
   * Unproven for GAP_PROOF_OVERDUE_MS or longer: an honest server logs a batch in the
   * transaction that acknowledges it, so this one is broken or withholding it. Its records
   * stay queued all the same.
   */
  readonly overdue: boolean;
}

/** Record batches the server acknowledged that still have unproven records, in sequence order, dated at `now`. */
function batchesAwaitingProof(store: LocalStore, now: number): AwaitingBatchProof[] {
  // A proof pass deletes an upload row once all its records are proven: a row left waits.
  return store.list('archive-uploads').map((r) => {
    const u = decodeUploadedBatch(r.value);
    const waitedMs = batchProofWaited(u, now);
    return {
      firstSeq: u.firstSeq,
      lastSeq: u.firstSeq + u.hashes.length - 1,
      acknowledgedAt: u.acknowledgedAt,
      waitedMs,
      overdue: waitedMs !== undefined && waitedMs >= GAP_PROOF_OVERDUE_MS,
    };
  });
}

/** Verified receipts kept by this device (tlog-proof@v1 text), by sequence number. */
export function archiveReceipts(store: LocalStore): ArchiveReceiptRow[] {
  return store
    .list('archive-receipts')
    .map((r) => decodeJson<ArchiveReceiptRow>(r.value))
    .filter((r) => r.receipt !== undefined);
}

/**
 * Queue depth, last receipt, last verified checkpoint; `now` (the device's clock) dates the
 * declarations and record batches awaiting proof.
 */
export function archiveStatus(store: LocalStore, profile: DeviceProfile, now: number): ArchiveStatus {
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
    gapsAwaitingProof: acceptedGapProofs(store).map((g) => {
      const waitedMs = gapProofWaited(g, now);
      return {
        firstSeq: g.firstSeq,
        lastSeq: g.lastSeq,
        reason: g.reason,
        logIndex: g.logIndex,
        acceptedAt: g.acceptedAt,
        waitedMs,
        overdue: waitedMs !== undefined && waitedMs >= GAP_PROOF_OVERDUE_MS,
      };
    }),
    batchesAwaitingProof: batchesAwaitingProof(store, now),
    disposedBuckets: disposed,
    undeclaredDisposed:
      stuck === undefined ? undefined : { firstSeq: stuck.firstSeq, lastSeq: stuck.lastSeq },
  };
}
