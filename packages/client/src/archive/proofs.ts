/**
 * Checking that the log holds this device's records, and keeping the proof. For each
 * uploaded record whose log index a signed checkpoint covers, the device:
 *
 * 1. reads the log entry at that index from the C2SP entry bundle and checks it is the
 *    archive-record entry for exactly this record (org, device, seq, bucket, hash, size) —
 *    the entry's time is the server's, so the device cannot compute the leaf on its own;
 * 2. fetches the c2sp.org/tlog-proof@v1 receipt and verifies it (core verifyReceipt) with
 *    the log key pinned at enrolment, for the leaf hash of that entry;
 * 3. checks the checkpoint is consistent with the last one it verified (append-only);
 * 4. keeps the receipt and only then drops the queued record.
 *
 * A gap declaration of records the device still holds (bucket-disposed, gap-proofs.ts) is
 * proven the same way, with its archive-gap entry, before those records leave the queue.
 *
 * A server that acknowledges a batch and never logs it (broken, or lying: the server is not
 * trusted) must neither hold its records for good unnoticed nor slow every sync — the same
 * rule as for a gap declaration it accepts and never logs. Each upload row keeps when the
 * batch was acknowledged (upload-rows.ts, the device's clock); each round asks for the
 * receipts of a batch's unproven records in order, and stops at the first not in the log yet
 * (see verifyArchiveProofs: the rest cannot be either, so a withheld batch costs one request
 * a round, not one per record), noting when it found one missing (`lastMissingAt`); a batch
 * one of whose records is still missing GAP_PROOF_WAIT_MS after the acknowledgement is
 * `unlogged` (not worth waiting for within a round), and archive status reports it overdue
 * once a round has found a record missing GAP_PROOF_OVERDUE_MS or more after it — never on
 * the device's clock alone. Its records stay queued.
 */
import {
  decodeEntryBundle,
  entryBundlePath,
  hashLeaf,
  parseCheckpoint,
  parseNote,
  parseReceipt,
  TILE_WIDTH,
  verifyConsistency,
  verifyReceipt,
  type VerifiedReceipt,
} from '@custos/core';
import { ClientError, isServerRefusal } from '../errors.js';
import { pinLog } from '../enrol/enrol.js';
import { loadPinnedLog, type DeviceProfile, type PinnedLog } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import { ENTRY_BUNDLE_ANSWER_LIMIT_BYTES } from '../transport/answer-limits.js';
import type { ApiClient } from '../transport/api-client.js';
import { arr, bytes as b64bytes, obj } from '../transport/response-checks.js';
import { dropQueued } from './capture.js';
import {
  acceptedGapProofs,
  checkGapEntry,
  decodeProvenEntry,
  GAP_PROOF_WAIT_MS,
  gapProofWaited,
  hex,
  putPendingGap,
  settleGap,
} from './gap-proofs.js';
import {
  batchProofWaited,
  decodeUploadedBatch,
  encodeUploadedBatch,
  type UploadedBatch,
} from './upload-rows.js';
import type { ArchiveReceiptRow } from './uploader.js';

/**
 * Most record receipts asked for per call. The records of a batch skipped once one of its
 * records is found not in the log yet are not asked for, so they do not count.
 */
export const PROOF_BATCH = 2000;

/** The last checkpoint this device verified. */
export interface VerifiedCheckpointState {
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  readonly note: string;
}

/** Result of a proof round. */
export interface ProofRound {
  readonly verified: number;
  /** Uploaded records, and accepted gap declarations, not yet proven (no checkpoint covers them yet). */
  readonly waiting: number;
  /**
   * Of `waiting`, the accepted gap declarations unproven GAP_PROOF_WAIT_MS or more after the
   * server accepted them: not worth waiting for now (an honest server writes the entry in the
   * transaction that accepts it and signs a checkpoint covering it up to about 250 ms later);
   * each round that is not throttled checks them again. Counted so in a throttled round too,
   * unchecked — which moves no `lastMissingAt`, so makes none overdue.
   */
  readonly unlogged: number;
  /**
   * Record batches the server acknowledged GAP_PROOF_WAIT_MS or more ago of which this round
   * found a record still missing from the log: not worth waiting for now (an honest server
   * writes a batch's log entries in the transaction that acknowledges it and signs a
   * checkpoint covering them up to about 250 ms later); each round checks them again.
   */
  readonly unloggedBatches: number;
  /**
   * Of `waiting`, the records of `unloggedBatches` not proven yet — all of them, though the
   * round asked for the receipt of the first one missing only (the rest of a batch cannot be
   * in the log before it, see verifyArchiveProofs).
   */
  readonly unloggedRecords: number;
}

/** An upload row with records not proven yet. */
interface UnprovenBatch {
  /** Its `archive-uploads` key. */
  readonly key: string;
  readonly upload: UploadedBatch;
  /** Its records without a verified receipt, in sequence order. */
  readonly records: ArchiveReceiptRow[];
}

/**
 * Verifies receipts of uploaded records and of accepted gap declarations; drops their queued
 * copies. `now` is the device's clock, against which an accepted declaration's wait is measured.
 *
 * A batch's records are asked for in sequence order, and the first one the server answers
 * not in the log yet (LOG_NOT_FOUND: its index is not below the latest checkpoint's size)
 * ends the batch for this round: the rest stay queued, unasked, and are counted with it
 * (`missing`). The server's ingest (server archive/batch-commit.ts, insertSequenced) writes
 * a batch's log entries in the transaction that acknowledges it, at consecutive indexes in
 * record order (a replayed prefix keeps its earlier, lower ones), and a checkpoint covers a
 * prefix of the log: the records after a missing one, at higher indexes, are not covered
 * either. A server that answered indexes out of order only delays its own records' proofs —
 * a skipped record is neither proven nor dropped, and the next round asks again. A throttled
 * answer or a receipt that fails to verify is no "not yet": the first ends the round, the
 * second throws. Gap declarations need no such rule: each is one entry, asked for once.
 */
export async function verifyArchiveProofs(
  api: ApiClient,
  store: LocalStore,
  profile: DeviceProfile,
  now: number,
): Promise<ProofRound> {
  const missing = new Set<string>();
  if (loadPinnedLog(store) === undefined && !(await pinLog(api, store, profile.orgId)))
    return roundResult(store, 0, now, missing);
  const log = loadPinnedLog(store)!;
  // Every unproven record, so that a withheld batch's skipped records leave the round's
  // PROOF_BATCH receipts to the batches after it (roundResult reads them all anyway).
  const batches = unprovenBatches(store);
  const gaps = acceptedGapProofs(store);
  if (batches.length === 0 && gaps.length === 0)
    return { verified: 0, waiting: 0, unlogged: 0, unloggedBatches: 0, unloggedRecords: 0 };
  const reader = new LogReader(api, store, log, `/v1/orgs/${profile.orgId}/log`);
  let verified = 0;
  let asked = 0;
  proving: for (const batch of batches)
    for (const row of batch.records) {
      if (asked++ >= PROOF_BATCH) break proving;
      const proven = await reader.prove(row.logIndex, `record ${row.seq}`, (entry) =>
        checkEntry(entry, row, profile),
      );
      if (proven === 'throttled') break proving;
      if (proven === 'not-yet') {
        // The batch's later records cannot be in the log before this one (see above).
        missing.add(batch.key);
        continue proving;
      }
      store.transaction(() => {
        const done: ArchiveReceiptRow = { ...row, receipt: proven.text, treeSize: proven.treeSize };
        store.putJson('archive-receipts', String(row.seq), done, row.seq);
        // Only now, with a verified proof kept, does the record leave the queue.
        dropQueued(store, row.seq);
        store.putJson('archive-state', 'last-receipt-seq', row.seq);
      });
      verified++;
    }
  store.transaction(() => {
    for (const r of store.list('archive-uploads')) {
      const u = decodeUploadedBatch(r.value);
      // Upload rows whose every record now has its receipt are done.
      if (u.hashes.every((_, i) => store.get('archive-receipts', String(u.firstSeq + i)) !== undefined))
        store.delete('archive-uploads', r.key);
      // Found missing: the evidence an overdue report rests on. Acknowledged to an older
      // client, which kept no time, its wait is counted from now on.
      else if (missing.has(r.key)) {
        const found = { ...u, acknowledgedAt: u.acknowledgedAt ?? now, lastMissingAt: now };
        store.put('archive-uploads', r.key, encodeUploadedBatch(found), r.ord);
      }
    }
  });
  for (const gap of reader.throttled ? [] : gaps) {
    const what = `the declaration of records ${gap.firstSeq}–${gap.lastSeq}`;
    const proven = await reader.prove(gap.logIndex, what, (entry) => checkGapEntry(entry, gap, profile));
    if (proven === 'throttled') break;
    if (proven === 'not-yet') {
      // Found missing: the evidence an overdue report rests on. Accepted by an older client,
      // which kept no time, its wait is counted from now on.
      const found = { ...gap, acceptedAt: gap.acceptedAt ?? now, lastMissingAt: now };
      store.transaction(() => putPendingGap(store, found));
      continue;
    }
    store.transaction(() => settleGap(store, gap, proven.text, proven.treeSize));
    verified++;
  }
  return roundResult(store, verified, now, missing);
}

/**
 * What a round reports: what it proved, what still waits, and which declarations and batches
 * are not worth waiting for — a batch only when this round found one of its records missing
 * (`missing`, by row key), so that one the round did not reach (throttled, or after
 * PROOF_BATCH receipts) is still waited for.
 */
function roundResult(
  store: LocalStore,
  verified: number,
  now: number,
  missing: ReadonlySet<string>,
): ProofRound {
  const gaps = acceptedGapProofs(store);
  const unlogged = gaps.filter((g) => (gapProofWaited(g, now) ?? 0) >= GAP_PROOF_WAIT_MS).length;
  const batches = unprovenBatches(store);
  const late = batches.filter(
    (b) => missing.has(b.key) && (batchProofWaited(b.upload, now) ?? 0) >= GAP_PROOF_WAIT_MS,
  );
  return {
    verified,
    waiting: batches.reduce((n, b) => n + b.records.length, 0) + gaps.length,
    unlogged,
    unloggedBatches: late.length,
    unloggedRecords: late.reduce((n, b) => n + b.records.length, 0),
  };
}

/** Reads receipts and entry bundles of the org's log, and proves entries against the pinned log. */
class LogReader {
  readonly #bundles = new Map<string, Uint8Array[]>();
  /** The log's read routes answered RATE_LIMITED: the rest waits for the next round. */
  throttled = false;

  constructor(
    private readonly api: ApiClient,
    private readonly store: LocalStore,
    private readonly log: PinnedLog,
    private readonly orgPath: string,
  ) {}

  /**
   * Proves the entry at `logIndex` (named `what` in errors), which `check` must accept:
   * fetches its receipt and entry bundle, verifies the receipt with the pinned log key for
   * that entry's leaf, and checks the checkpoint's consistency with the last one verified
   * (kept as the new last). `not-yet` when no checkpoint covers it yet, `throttled` when
   * the log's read routes are throttled. RECEIPT_INVALID naming what does not verify.
   */
  async prove(
    logIndex: number,
    what: string,
    check: (entry: Uint8Array) => void,
  ): Promise<{ text: string; treeSize: number } | 'not-yet' | 'throttled'> {
    let text: string;
    try {
      text = (await this.api.request('GET', `${this.orgPath}/receipts/${logIndex}`, {
        as: 'text',
      })) as string;
    } catch (e) {
      if (isServerRefusal(e, 'LOG_NOT_FOUND')) return 'not-yet'; // not yet covered by a checkpoint
      if (isServerRefusal(e, 'RATE_LIMITED')) {
        this.throttled = true; // the log's read routes are throttled: next round
        return 'throttled';
      }
      throw e;
    }
    const receipt = parseReceipt(text);
    if (receipt.index !== logIndex)
      throw new ClientError('RECEIPT_INVALID', `the receipt for log index ${logIndex} names another index`);
    // The checkpoint's size is authenticated only once verifyReceipt checks it; use it to pick the bundle.
    const size = parseCheckpoint(parseNote(receipt.checkpoint).text).treeSize;
    if (size <= logIndex)
      throw new ClientError('RECEIPT_INVALID', `the receipt checkpoint does not cover ${what}`);
    const bundleIndex = Math.floor(logIndex / TILE_WIDTH);
    const width = Math.min(TILE_WIDTH, size - bundleIndex * TILE_WIDTH);
    const bundleKey = `${bundleIndex}/${width}`;
    let entries = this.#bundles.get(bundleKey);
    if (entries === undefined) {
      const path = entryBundlePath({ index: bundleIndex, width });
      const raw = (await this.api.request('GET', `${this.orgPath}/${path}`, {
        as: 'bytes',
        auth: false,
        maxAnswerBytes: ENTRY_BUNDLE_ANSWER_LIMIT_BYTES,
      })) as Uint8Array;
      entries = decodeEntryBundle(raw, width);
      this.#bundles.set(bundleKey, entries);
    }
    const entryBytes = entries[logIndex - bundleIndex * TILE_WIDTH];
    if (entryBytes === undefined) throw new ClientError('RECEIPT_INVALID', `the entry bundle lacks ${what}`);
    check(entryBytes);
    let v: VerifiedReceipt;
    try {
      v = verifyReceipt(receipt, hashLeaf(entryBytes), [this.log.verifierKey], this.log.origin);
    } catch (e) {
      throw new ClientError('RECEIPT_INVALID', `the receipt of ${what} does not verify`, { cause: e });
    }
    await checkConsistency(this.api, this.store, this.orgPath, { ...v.checkpoint, note: receipt.checkpoint });
    return { text, treeSize: v.checkpoint.treeSize };
  }
}

/**
 * Upload rows with records not proven yet, in sequence order (a record in two rows, after a
 * rewind, counts in the first).
 */
function unprovenBatches(store: LocalStore): UnprovenBatch[] {
  const out: UnprovenBatch[] = [];
  const seen = new Set<number>();
  for (const r of store.list('archive-uploads')) {
    const u = decodeUploadedBatch(r.value);
    const records: ArchiveReceiptRow[] = [];
    for (let i = 0; i < u.hashes.length; i++) {
      const seq = u.firstSeq + i;
      if (seen.has(seq) || store.get('archive-receipts', String(seq)) !== undefined) continue;
      seen.add(seq);
      records.push({
        seq,
        hash: u.hashes[i]!,
        size: u.sizes[i]!,
        bucket: u.buckets[i]!,
        logIndex: u.logIndexes[i]!,
      });
    }
    if (records.length > 0) out.push({ key: r.key, upload: u, records });
  }
  return out;
}

/** The log entry must be this device's archive-record entry for exactly this record. */
function checkEntry(entryBytes: Uint8Array, row: ArchiveReceiptRow, profile: DeviceProfile): void {
  const e = decodeProvenEntry(entryBytes, row.logIndex);
  const ok =
    e.type === 'archive-record' &&
    e.org === profile.orgId &&
    e.device === profile.deviceId &&
    e.seq === row.seq &&
    e.bucket === row.bucket &&
    e.size === row.size &&
    hex(e.hash) === hex(row.hash);
  if (!ok)
    throw new ClientError(
      'RECEIPT_INVALID',
      `log entry ${row.logIndex} is not the entry of record ${row.seq}`,
    );
}

/** Append-only check between the last verified checkpoint and `next` (consistency proof). */
async function checkConsistency(
  api: ApiClient,
  store: LocalStore,
  orgPath: string,
  next: VerifiedCheckpointState,
): Promise<void> {
  const last = store.getJson<VerifiedCheckpointState>('archive-state', 'last-checkpoint');
  if (last !== undefined && last.treeSize > next.treeSize) return; // an older view; the newer one stands
  if (last !== undefined && last.treeSize === next.treeSize) {
    if (hex(last.rootHash) !== hex(next.rootHash))
      throw new ClientError(
        'RECEIPT_INVALID',
        'two checkpoints of the same size with different roots (split view)',
      );
    return;
  }
  if (last !== undefined && last.treeSize > 0) {
    const p = obj(
      await api.request('GET', `${orgPath}/proof/consistency?from=${last.treeSize}&to=${next.treeSize}`, {
        auth: false,
      }),
      'consistency proof',
    );
    const proof = arr(p, 'proof').map((h) => b64bytes({ h }, 'h', 32));
    try {
      verifyConsistency(last.treeSize, next.treeSize, proof, last.rootHash, next.rootHash);
    } catch (e) {
      throw new ClientError(
        'RECEIPT_INVALID',
        'the log is not consistent with the last verified checkpoint',
        {
          cause: e,
        },
      );
    }
  }
  store.putJson('archive-state', 'last-checkpoint', next);
}
