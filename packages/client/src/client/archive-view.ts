/**
 * What a client reports about its archive capture, read from the profile alone (works
 * offline): queue depth, chain position, upload position, verified receipts, the last
 * checkpoint verified, the bucket keys refused at verification, and declarations of lost
 * records and record batches the server accepted but has not shown in its log (overdue once a
 * proof round found one missing GAP_PROOF_OVERDUE_MS after).
 */
import { declaredGaps, disposedRun, type DeclaredGap } from '../archive/chain-recovery.js';
import { loadChain } from '../archive/capture.js';
import { refusedBuckets, type RefusedBucket } from '../archive/bucket-keys.js';
import { disposedBuckets, type DisposedBucket } from '../archive/disposed-buckets.js';
import { acceptedGapProofs, isOverdue, provenMissingFor } from '../archive/gap-proofs.js';
import { decodeUploadedBatch } from '../archive/upload-rows.js';
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
   * that takes; one a proof round found missing GAP_PROOF_OVERDUE_MS or more after the
   * acceptance is reported `overdue`.
   */
  readonly gapsAwaitingProof: readonly AwaitingGapProof[];
  /**
   * Record batches the server acknowledged whose records are not all proven in its log yet:
   * they stay queued (counted in `queued`) until a proof pass proves them — however long that
   * takes; one a proof round found a record of missing GAP_PROOF_OVERDUE_MS or more after the
   * acknowledgement is reported `overdue`.
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
  /** When a proof round last found its entry missing from the log (this device's clock, ms); undefined until one does. */
  readonly lastMissingAt: number | undefined;
  /**
   * How long after the acceptance its entry was last found missing (ms): `lastMissingAt` −
   * `acceptedAt`, the wait the device has evidence of; undefined until a round finds it missing.
   */
  readonly waitedMs: number | undefined;
  /**
   * Found missing GAP_PROOF_OVERDUE_MS or more after the acceptance: an honest server writes
   * the entry in the transaction that accepts it and a checkpoint covers it within about
   * 250 ms, so this one is broken or withholding it. Never on the device's clock alone (a
   * laptop asleep since a round that found it not yet covered accuses no one). Its records
   * stay queued all the same.
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
  /** When a proof round last found a record of it missing from the log (this device's clock, ms); undefined until one does. */
  readonly lastMissingAt: number | undefined;
  /**
   * How long after the acknowledgement a record of it was last found missing (ms):
   * `lastMissingAt` − `acknowledgedAt`, the wait the device has evidence of; undefined until a
   * round finds one missing.
   */
  readonly waitedMs: number | undefined;
  /**
   * Found missing GAP_PROOF_OVERDUE_MS or more after the acknowledgement: an honest server
   * writes a batch's log entries in the transaction that acknowledges it and a checkpoint
   * covers them within about 250 ms, so this one is broken or withholding them. Never on the
   * device's clock alone. Its records stay queued all the same.
   */
  readonly overdue: boolean;
}

/** Record batches the server acknowledged that still have unproven records, in sequence order. */
function batchesAwaitingProof(store: LocalStore): AwaitingBatchProof[] {
  // A proof pass deletes an upload row once all its records are proven: a row left waits.
  return store.list('archive-uploads').map((r) => {
    const u = decodeUploadedBatch(r.value);
    const waitedMs = provenMissingFor(u.acknowledgedAt, u.lastMissingAt);
    return {
      firstSeq: u.firstSeq,
      lastSeq: u.firstSeq + u.hashes.length - 1,
      acknowledgedAt: u.acknowledgedAt,
      lastMissingAt: u.lastMissingAt,
      waitedMs,
      overdue: isOverdue(waitedMs),
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
 * Queue depth, last receipt, last verified checkpoint. Declarations and record batches
 * awaiting proof are dated by what the last proof round found, not by the device's clock now.
 */
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
    gapsAwaitingProof: acceptedGapProofs(store).map((g) => {
      const waitedMs = provenMissingFor(g.acceptedAt, g.lastMissingAt);
      return {
        firstSeq: g.firstSeq,
        lastSeq: g.lastSeq,
        reason: g.reason,
        logIndex: g.logIndex,
        acceptedAt: g.acceptedAt,
        lastMissingAt: g.lastMissingAt,
        waitedMs,
        overdue: isOverdue(waitedMs),
      };
    }),
    batchesAwaitingProof: batchesAwaitingProof(store),
    disposedBuckets: disposed,
    undeclaredDisposed:
      stuck === undefined ? undefined : { firstSeq: stuck.firstSeq, lastSeq: stuck.lastSeq },
  };
}
