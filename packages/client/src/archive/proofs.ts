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
 */
import {
  decodeEntryBundle,
  decodeLogEntry,
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
import { loadPinnedLog, type DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import type { ApiClient } from '../transport/api-client.js';
import { arr, bytes as b64bytes, obj } from '../transport/response-checks.js';
import { dropQueued } from './capture.js';
import { decodeUploadedBatch } from './upload-rows.js';
import type { ArchiveReceiptRow } from './uploader.js';

/** Most records checked per call. */
export const PROOF_BATCH = 2000;

/** The last checkpoint this device verified. */
export interface VerifiedCheckpointState {
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  readonly note: string;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Result of a proof round. */
export interface ProofRound {
  readonly verified: number;
  /** Uploaded records not yet covered by a checkpoint. */
  readonly waiting: number;
}

/** Verifies receipts of uploaded records; drops their queued copies. */
export async function verifyArchiveProofs(
  api: ApiClient,
  store: LocalStore,
  profile: DeviceProfile,
): Promise<ProofRound> {
  if (loadPinnedLog(store) === undefined && !(await pinLog(api, store, profile.orgId)))
    return { verified: 0, waiting: countWaiting(store) };
  const log = loadPinnedLog(store)!;
  const pending = pendingRecords(store, PROOF_BATCH);
  if (pending.length === 0) return { verified: 0, waiting: 0 };
  const bundles = new Map<string, Uint8Array[]>();
  const orgPath = `/v1/orgs/${profile.orgId}/log`;
  let verified = 0;
  for (const row of pending) {
    let text: string;
    try {
      text = (await api.request('GET', `${orgPath}/receipts/${row.logIndex}`, { as: 'text' })) as string;
    } catch (e) {
      if (isServerRefusal(e, 'LOG_NOT_FOUND')) continue; // not yet covered by a checkpoint
      if (isServerRefusal(e, 'RATE_LIMITED')) break; // the log's read routes are throttled: next round
      throw e;
    }
    const receipt = parseReceipt(text);
    if (receipt.index !== row.logIndex)
      throw new ClientError(
        'RECEIPT_INVALID',
        `the receipt for log index ${row.logIndex} names another index`,
      );
    // The checkpoint's size is authenticated only once verifyReceipt checks it; use it to pick the bundle.
    const size = parseCheckpoint(parseNote(receipt.checkpoint).text).treeSize;
    if (size <= row.logIndex)
      throw new ClientError('RECEIPT_INVALID', 'the receipt checkpoint does not cover the record');
    const bundleIndex = Math.floor(row.logIndex / TILE_WIDTH);
    const width = Math.min(TILE_WIDTH, size - bundleIndex * TILE_WIDTH);
    const bundleKey = `${bundleIndex}/${width}`;
    let entries = bundles.get(bundleKey);
    if (entries === undefined) {
      const path = entryBundlePath({ index: bundleIndex, width });
      const raw = (await api.request('GET', `${orgPath}/${path}`, {
        as: 'bytes',
        auth: false,
      })) as Uint8Array;
      entries = decodeEntryBundle(raw, width);
      bundles.set(bundleKey, entries);
    }
    const entryBytes = entries[row.logIndex - bundleIndex * TILE_WIDTH];
    if (entryBytes === undefined)
      throw new ClientError('RECEIPT_INVALID', 'the entry bundle lacks the record');
    checkEntry(entryBytes, row, profile);
    let v: VerifiedReceipt;
    try {
      v = verifyReceipt(receipt, hashLeaf(entryBytes), [log.verifierKey], log.origin);
    } catch (e) {
      throw new ClientError('RECEIPT_INVALID', `the receipt of record ${row.seq} does not verify`, {
        cause: e,
      });
    }
    await checkConsistency(api, store, orgPath, { ...v.checkpoint, note: receipt.checkpoint });
    store.transaction(() => {
      const done: ArchiveReceiptRow = { ...row, receipt: text, treeSize: v.checkpoint.treeSize };
      store.putJson('archive-receipts', String(row.seq), done, row.seq);
      // Only now, with a verified proof kept, does the record leave the queue.
      dropQueued(store, row.seq);
      store.putJson('archive-state', 'last-receipt-seq', row.seq);
    });
    verified++;
  }
  // Upload rows whose every record now has its receipt are done.
  store.transaction(() => {
    for (const r of store.list('archive-uploads')) {
      const u = decodeUploadedBatch(r.value);
      if (u.hashes.every((_, i) => store.get('archive-receipts', String(u.firstSeq + i)) !== undefined))
        store.delete('archive-uploads', r.key);
    }
  });
  return { verified, waiting: countWaiting(store) };
}

/** Uploaded records without a verified receipt yet, in sequence order, at most `limit`. */
function pendingRecords(store: LocalStore, limit: number): ArchiveReceiptRow[] {
  const out: ArchiveReceiptRow[] = [];
  const seen = new Set<number>();
  for (const r of store.list('archive-uploads')) {
    const u = decodeUploadedBatch(r.value);
    for (let i = 0; i < u.hashes.length && out.length < limit; i++) {
      const seq = u.firstSeq + i;
      if (seen.has(seq) || store.get('archive-receipts', String(seq)) !== undefined) continue;
      seen.add(seq);
      out.push({
        seq,
        hash: u.hashes[i]!,
        size: u.sizes[i]!,
        bucket: u.buckets[i]!,
        logIndex: u.logIndexes[i]!,
      });
    }
    if (out.length >= limit) break;
  }
  return out;
}

function countWaiting(store: LocalStore): number {
  return pendingRecords(store, Number.MAX_SAFE_INTEGER).length;
}

/** The log entry must be this device's archive-record entry for exactly this record. */
function checkEntry(entryBytes: Uint8Array, row: ArchiveReceiptRow, profile: DeviceProfile): void {
  let e;
  try {
    e = decodeLogEntry(entryBytes);
  } catch (err) {
    throw new ClientError('RECEIPT_INVALID', `log entry ${row.logIndex} does not decode`, { cause: err });
  }
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
