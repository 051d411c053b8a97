/**
 * Offline checks of a custody manifest (docs/exports.md §6), in a fixed order so the first
 * failure named is deterministic: the log key (pinned when the caller has one), every
 * checkpoint's signature, then per record: sealed bytes → hash, header → manifest facts,
 * batch signature → hash, log entry → inclusion proof → checkpoint root, and the device
 * chain between consecutive exported records; then each gap declaration (custody-gaps.ts).
 * Used both before writing an export (so an export never carries a record or declaration
 * that does not verify) and by `custos verify`.
 */
import {
  isCustosError,
  logEntryLeafHash,
  openCheckpoint,
  parseRecord,
  parseVerifierKey,
  verifyBatch,
  verifyInclusion,
  type BucketId,
  type DeviceId,
  type OrgId,
  type RecordHash,
} from '@custos/core';
import { ExportError, type ExportErrorCode } from './export-error.js';
import { sha256Hex, toBase64, toHex } from './byte-encoding.js';
import { checkGapDeclarations, type GapReport } from './custody-gaps.js';
import type { CustodyManifest, CustodyRecord } from './custody-manifest.js';
import { CUSTODY_MANIFEST_FILE } from './custody-manifest.js';
import type { ExportProgress } from './export-types.js';
import { PROGRESS_EVERY } from './export-types.js';

/** What the custody checks established (with the devices' holes, declared or not: custody-gaps.ts). */
export interface CustodyReport extends GapReport {
  readonly records: number;
  readonly batches: number;
  readonly checkpoints: readonly {
    readonly origin: string;
    readonly treeSize: number;
    /**
     * Standard base64, as the signed checkpoint note writes the root (and the export's
     * `origin size root` summaries, and `custos verify log`): an auditor compares it with the
     * note's text as it stands.
     */
    readonly rootHash: string;
  }[];
  readonly logKey: string;
  /** True when the log key was compared with one the verifier pinned. */
  readonly logKeyPinned: boolean;
}

/** Options of {@link checkCustody}. */
export interface CustodyCheckOptions {
  /** The log verifier key the verifier trusts (from --log-key or a profile). */
  readonly pinnedLogKey?: string;
  readonly onProgress?: ExportProgress;
}

const fail = (code: ExportErrorCode, message: string, record?: string, cause?: unknown): ExportError =>
  new ExportError(
    code,
    message,
    { file: CUSTODY_MANIFEST_FILE, ...(record === undefined ? {} : { record }) },
    cause,
  );

const why = (e: unknown): string => (isCustosError(e) || e instanceof Error ? e.message : 'unknown error');

// The manifest's strings were validated by parseCustody (or written by buildCustody), so
// plain decoding suffices here; this is the hot path of every export and verification.
const hex = (s: string): Uint8Array => Buffer.from(s, 'hex');
const b64 = (s: string): Uint8Array => Buffer.from(s, 'base64');

/**
 * Checks `m` (as returned by parseCustody or buildCustody) and the sealed-records bytes it describes; throws an {@link ExportError} naming
 * the first failure, returns what was established otherwise.
 */
export function checkCustody(
  m: CustodyManifest,
  sealed: Uint8Array,
  o: CustodyCheckOptions = {},
): CustodyReport {
  // 1. The log key: well formed, named after the origin, and equal to the pinned one.
  try {
    const k = parseVerifierKey(m.log.verifierKey);
    if (k.name !== m.log.origin) throw new Error(`the key is named ${k.name}, not the log origin`);
  } catch (e) {
    throw fail('CHECKPOINT_INVALID', `the log verifier key in the export is not usable: ${why(e)}`);
  }
  if (o.pinnedLogKey !== undefined && o.pinnedLogKey.trim() !== m.log.verifierKey) {
    throw fail(
      'LOG_KEY_MISMATCH',
      `the export's log key ${m.log.verifierKey} is not the pinned log key ${o.pinnedLogKey.trim()}`,
    );
  }
  // 2. Every checkpoint is signed by that key for that origin.
  const roots = m.checkpoints.map((note, i) => {
    try {
      return openCheckpoint(note, [m.log.verifierKey], m.log.origin).checkpoint;
    } catch (e) {
      throw fail('CHECKPOINT_INVALID', `checkpoint ${i} does not verify against the log key: ${why(e)}`);
    }
  });
  if (sealed.length !== m.sealedRecords.size || sha256Hex(sealed) !== m.sealedRecords.sha256) {
    throw new ExportError(
      'FILE_HASH_MISMATCH',
      `${m.sealedRecords.file} does not match its hash in the custody manifest`,
      {
        file: m.sealedRecords.file,
      },
    );
  }
  // 3. Batch signatures, each checked once, when a record first needs it.
  const batchChecked = new Uint8Array(m.batches.length);
  const checkBatch = (i: number, rec: string): void => {
    if (batchChecked[i] === 1) return;
    const b = m.batches[i]!;
    try {
      verifyBatch(
        b64(b.identityKey),
        {
          org: b.org as OrgId,
          device: b.device as DeviceId,
          firstSeq: b.firstSeq,
          hashes: b.hashes.map((h) => hex(h) as RecordHash),
        },
        b64(b.signature),
      );
    } catch (e) {
      throw fail(
        'SIGNATURE_INVALID',
        `device ${b.device}: batch signature over records ${b.firstSeq}–${b.firstSeq + b.hashes.length - 1} does not verify: ${why(e)}`,
        rec,
      );
    }
    batchChecked[i] = 1;
  };
  // 4. Records.
  const lastOf = new Map<string, CustodyRecord>();
  const total = m.records.length;
  m.records.forEach((r, i) => {
    checkRecord(m, r, sealed, roots, checkBatch);
    const key = `${r.org}\n${r.device}`;
    const before = lastOf.get(key);
    if (before !== undefined && before.seq + 1 === r.seq && before.hash !== r.prev) {
      throw fail(
        'CHAIN_BROKEN',
        `device ${r.device} record ${r.seq} does not follow record ${before.seq} (prev differs)`,
        r.hash,
      );
    }
    if (before === undefined || r.seq > before.seq) lastOf.set(key, r);
    if (o.onProgress !== undefined && ((i + 1) % PROGRESS_EVERY === 0 || i + 1 === total))
      o.onProgress(i + 1, total);
  });
  // 5. Gap declarations (version 3): signature, proof, and exactly a hole of the export;
  // then every hole of a device's exported sequence, declared or not.
  const gaps = checkGapDeclarations(m, roots);
  return {
    records: total,
    batches: m.batches.length,
    checkpoints: roots.map((c) => ({
      origin: c.origin,
      treeSize: c.treeSize,
      rootHash: toBase64(c.rootHash),
    })),
    logKey: m.log.verifierKey,
    logKeyPinned: o.pinnedLogKey !== undefined,
    ...gaps,
  };
}

function checkRecord(
  m: CustodyManifest,
  r: CustodyRecord,
  sealed: Uint8Array,
  roots: readonly { treeSize: number; rootHash: Uint8Array }[],
  checkBatch: (i: number, rec: string) => void,
): void {
  const who = `record ${r.hash.slice(0, 16)}… (device ${r.device}, seq ${r.seq})`;
  if (r.offset + r.size > sealed.length)
    throw fail('RECORD_HASH_MISMATCH', `${who}: its bytes lie outside ${m.sealedRecords.file}`, r.hash);
  const recBytes = sealed.subarray(r.offset, r.offset + r.size);
  if (sha256Hex(recBytes) !== r.hash)
    throw fail('RECORD_HASH_MISMATCH', `${who}: its sealed bytes do not hash to the record hash`, r.hash);
  let h;
  try {
    h = parseRecord(recBytes).header;
  } catch (e) {
    throw fail('RECORD_HEADER_MISMATCH', `${who}: the sealed record does not parse: ${why(e)}`, r.hash);
  }
  if (
    h.org !== r.org ||
    h.device !== r.device ||
    h.bucket !== r.bucket ||
    h.seq !== r.seq ||
    toHex(h.prev) !== r.prev
  )
    throw fail(
      'RECORD_HEADER_MISMATCH',
      `${who}: the sealed header's org, device, bucket, seq or prev differ from the manifest`,
      r.hash,
    );
  const b = m.batches[r.batch]!;
  const at = r.seq - b.firstSeq;
  if (b.org !== r.org || b.device !== r.device || at < 0 || at >= b.hashes.length || b.hashes[at] !== r.hash)
    throw fail(
      'RECORD_NOT_SIGNED',
      `${who}: its batch does not sign this hash at this sequence number`,
      r.hash,
    );
  checkBatch(r.batch, r.hash);
  const cp = roots[r.checkpoint]!;
  try {
    const leaf = logEntryLeafHash({
      type: 'archive-record',
      hash: hex(r.hash),
      size: r.size,
      actor: r.device,
      time: r.loggedAt,
      org: r.org as OrgId,
      device: r.device as DeviceId,
      seq: r.seq,
      bucket: r.bucket as BucketId,
    });
    verifyInclusion(leaf, r.logIndex, cp.treeSize, r.proof.map(b64), cp.rootHash);
  } catch (e) {
    throw fail('PROOF_INVALID', `${who}: not proven in the log at index ${r.logIndex}: ${why(e)}`, r.hash);
  }
}
