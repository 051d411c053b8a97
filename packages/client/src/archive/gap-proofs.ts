/**
 * Gap declarations of records this device still holds, awaiting proof that the log holds
 * them. A `bucket-disposed` declaration (uploader.ts) covers queued records that were never
 * archived: the device's copy is the only one. The server's "accepted" is only its word, so
 * the records stay queued and the declaration is kept here as a pending gap proof. The
 * proof pass (proofs.ts) then checks it as it checks a record:
 *
 * 1. the log entry at the answered index must be this device's archive-gap entry for
 *    exactly this run, reason and signed document (its SHA-256 and size); the entry's time
 *    is the server's, so the device reads the entry instead of computing the leaf;
 * 2. the receipt verifies with the pinned log key, and its checkpoint is consistent with
 *    the last one verified;
 * 3. only then, in one transaction, the run's records leave the queue, the pending proof
 *    goes, and the gap is noted declared ({@link settleGap}).
 *
 * The signed document is kept from before it is posted: a signature is randomised (XEdDSA),
 * and the server answers a repeat of the same run with its first entry, which binds the
 * first document's hash. So after a crash (the post's answer lost, or the proof not yet
 * checked) the same document is posted again and its proof can still be found.
 *
 * A server that accepts a declaration and never logs it (broken, or lying: the server is not
 * trusted) must neither hold the records for good unnoticed nor slow every sync. The device
 * keeps when it accepted each one and when a proof round last found its entry missing (its
 * own clock): each proof pass checks an accepted declaration once, unless the log's read
 * routes are throttled (the pass then stops and the next checks it); one still unlogged
 * GAP_PROOF_WAIT_MS after its acceptance is not worth waiting for within a round (`custos
 * sync` moves on; later rounds check again), and one a round found unlogged
 * GAP_PROOF_OVERDUE_MS or more after it is reported overdue (`custos archive status`) — its
 * records still stay queued: nothing leaves without proof.
 */
import { decodeLogEntry, type GapReason, type LogEntry } from '@custos/core';
import { ClientError } from '../errors.js';
import type { DeviceProfile } from '../profile.js';
import { sha256 } from '../sha256.js';
import type { LocalStore } from '../store/local-store.js';
import { dropQueued } from './capture.js';
import { noteDeclaredGap, type DeclaredGap } from './chain-recovery.js';

/** A signed declaration of queued records, posted or about to be, not yet proven in the log. */
export interface PendingGapProof {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly reason: GapReason;
  /** The signed declaration document, exactly as posted (the log entry binds its SHA-256 and size). */
  readonly document: Uint8Array;
  /** The index of its archive-gap entry, as the server answered once it accepted; absent before. */
  readonly logIndex?: number;
  /**
   * When the server accepted it (this device's clock, ms); absent before. A declaration an
   * older client had accepted gets the time of the first proof pass that finds it unlogged.
   */
  readonly acceptedAt?: number;
  /**
   * When a proof round last found its entry missing from the log (this device's clock, ms);
   * absent until one does. Only with it is the declaration ever overdue (provenMissingFor).
   */
  readonly lastMissingAt?: number;
}

/** A pending gap proof the server accepted: its log entry is to be proven. */
export type AcceptedGapProof = PendingGapProof & { readonly logIndex: number };

const PENDING_GAP_PROOFS = 'pending-gap-proofs';

/**
 * How long after accepting a declaration a device may still wait, within one round, for its
 * entry to show in the log. An honest server appends the entry in the transaction that
 * accepts the declaration and signs a checkpoint every ~250 ms, so this is ample; `custos
 * sync` waits as long for a checkpoint to cover records just uploaded. The same holds for a
 * record batch after its acknowledgement (proofs.ts).
 */
export const GAP_PROOF_WAIT_MS = 15_000;

/**
 * How long after accepting a declaration its entry may be missing from the log before the
 * device reports it overdue: the server may be withholding it. Ample for a server restart or
 * a checkpoint signer stalled under load between the acceptance and the next checkpoint.
 * The same holds for the records of a batch after its acknowledgement (proofs.ts).
 */
export const GAP_PROOF_OVERDUE_MS = 60 * 60 * 1000;

/**
 * How long after `since` (a declaration's acceptance, a batch's acknowledgement) a proof
 * round last found its entry missing from the log (ms), or undefined when either time is
 * unknown. This, not the time elapsed since, is what an overdue report rests on: a device
 * whose clock ran on while no round checked (`custos sync --no-wait`, then a laptop asleep
 * for hours) has no evidence that the server did not log it meanwhile.
 */
export function provenMissingFor(
  since: number | undefined,
  lastMissingAt: number | undefined,
): number | undefined {
  return since === undefined || lastMissingAt === undefined ? undefined : Math.max(0, lastMissingAt - since);
}

/** Whether an entry found missing `missingFor` ms after it was taken (provenMissingFor) is overdue. */
export function isOverdue(missingFor: number | undefined): boolean {
  return missingFor !== undefined && missingFor >= GAP_PROOF_OVERDUE_MS;
}

/** The pending gap proofs, in the order they were first kept. */
export function pendingGapProofs(store: LocalStore): PendingGapProof[] {
  return store.getJson<PendingGapProof[]>('archive-state', PENDING_GAP_PROOFS) ?? [];
}

/** The declarations the server accepted whose log entry is not proven yet (their records stay queued). */
export function acceptedGapProofs(store: LocalStore): AcceptedGapProof[] {
  return pendingGapProofs(store).filter((g): g is AcceptedGapProof => g.logIndex !== undefined);
}

/** How long `gap` has waited for its log entry at `now` (ms), or undefined when its acceptance time is unknown. */
export function gapProofWaited(gap: AcceptedGapProof, now: number): number | undefined {
  return gap.acceptedAt === undefined ? undefined : Math.max(0, now - gap.acceptedAt);
}

/** Keeps `gap` (replacing one at the same start). Run inside a transaction. */
export function putPendingGap(store: LocalStore, gap: PendingGapProof): void {
  const others = pendingGapProofs(store).filter((g) => g.firstSeq !== gap.firstSeq);
  store.putJson('archive-state', PENDING_GAP_PROOFS, [...others, gap]);
}

/** Hex text of bytes, for comparing hashes. */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The log entry at `logIndex` that a receipt proves, decoded; RECEIPT_INVALID if it does not decode. */
export function decodeProvenEntry(entryBytes: Uint8Array, logIndex: number): LogEntry {
  try {
    return decodeLogEntry(entryBytes);
  } catch (err) {
    throw new ClientError('RECEIPT_INVALID', `log entry ${logIndex} does not decode`, { cause: err });
  }
}

/** RECEIPT_INVALID unless `entryBytes` is this device's archive-gap entry of exactly `gap`. */
export function checkGapEntry(entryBytes: Uint8Array, gap: AcceptedGapProof, profile: DeviceProfile): void {
  const e = decodeProvenEntry(entryBytes, gap.logIndex);
  const ok =
    e.type === 'archive-gap' &&
    e.org === profile.orgId &&
    e.device === profile.deviceId &&
    e.actor === profile.deviceId &&
    e.seq === gap.firstSeq &&
    e.end === gap.lastSeq &&
    e.reason === gap.reason &&
    e.size === gap.document.length &&
    hex(e.hash) === hex(sha256(gap.document));
  if (!ok)
    throw new ClientError(
      'RECEIPT_INVALID',
      `log entry ${gap.logIndex} is not the archive-gap entry of this device's declaration of records ` +
        `${gap.firstSeq}–${gap.lastSeq} (${gap.reason})`,
    );
}

/**
 * With `gap`'s log entry proven by `receipt` (verified, consistent): drops the run's queued
 * records, forgets the pending proof and notes the gap declared, keeping the receipt. Run
 * inside a transaction.
 */
export function settleGap(store: LocalStore, gap: AcceptedGapProof, receipt: string, treeSize: number): void {
  // Only now, with the declaration proven in the log, do the records leave the queue.
  for (let seq = gap.firstSeq; seq <= gap.lastSeq; seq++) dropQueued(store, seq);
  store.putJson(
    'archive-state',
    PENDING_GAP_PROOFS,
    pendingGapProofs(store).filter((g) => g.firstSeq !== gap.firstSeq),
  );
  const declared: DeclaredGap = {
    firstSeq: gap.firstSeq,
    lastSeq: gap.lastSeq,
    reason: gap.reason,
    logIndex: gap.logIndex,
  };
  noteDeclaredGap(store, declared);
  store.putJson('archive-state', `gap-receipt:${gap.firstSeq}`, { receipt, treeSize });
}
