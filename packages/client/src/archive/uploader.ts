/**
 * Uploading queued records: consecutive runs of the chain, signed as one batch with the
 * identity key (core/sign), with the wrapped session keys the server does not have yet,
 * in the binary batch body (batch-body.ts), several batches in flight (pipelined).
 * Uploads are idempotent on the server (a replayed batch stores nothing and answers the
 * same log indexes), so after a crash the device simply uploads again from its last
 * acknowledged sequence number: each record is stored exactly once. A record leaves the
 * queue only later, when its inclusion proof has verified (proofs.ts) — or, declared lost
 * as sealed to a disposed bucket, when the declaration's log entry has (gap-proofs.ts).
 */
import { deviceId as toDeviceId, orgId as toOrgId, signBatch, type RecordHash } from '@custos/core';
import type { PrivateKey } from '@signalapp/libsignal-client';
import { ClientError, isClientError, isServerRefusal } from '../errors.js';
import type { DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import type { ApiClient } from '../transport/api-client.js';
import { backoffDelay, sleep } from '../transport/backoff.js';
import { arr, bytes, int, obj } from '../transport/response-checks.js';
import {
  ARCHIVE_BATCH_MEDIA_TYPE,
  BATCH_BODY_FIXED_BYTES,
  BATCH_BODY_ITEM_BYTES,
  encodeBatchBody,
} from './batch-body.js';
import {
  declareLostRun,
  disposedRun,
  lostRun,
  markKeyNotUploaded,
  markKeysNotUploaded,
  postGapDocument,
  signGapRun,
} from './chain-recovery.js';
import { decodeQueued, type QueuedRecord, type StoredSessionKey } from './capture.js';
import {
  checkDisposalClaim,
  disposalOf,
  disposedBucketIds,
  disposedBuckets,
  noteDisposedBucket,
} from './disposed-buckets.js';
import { pendingGapProofs, putPendingGap, type PendingGapProof } from './gap-proofs.js';
import { isPending } from './pending-records.js';
import { encodeUploadedBatch, type UploadedBatch } from './upload-rows.js';

/** Most records per upload (the server takes up to 1,000). */
export const UPLOAD_BATCH_RECORDS = 1000;
/** Most body bytes per upload (the server's body limit is 8 MiB; a record is at most 1 MiB). */
export const UPLOAD_BATCH_BYTES = 7 * 1024 * 1024;
/** Most wrapped session keys per upload (server limit). */
export const UPLOAD_BATCH_SESSION_KEYS = 16;
/** Retries of one batch before giving up for this round (the queue keeps it). */
export const UPLOAD_MAX_ATTEMPTS = 8;
/**
 * Batches in flight at once. The device signs and encodes the next batches while the
 * server verifies and commits the current one (the server commits a device's batches in
 * arrival order, several per durable transaction).
 */
export const UPLOAD_PIPELINE_DEPTH = 3;
/** Queue rows read (and decrypted) per store query. */
export const UPLOAD_QUEUE_PAGE = 2000;

/** Tuning of {@link ArchiveUploader} (tests use small batches). */
export interface UploaderOptions {
  readonly batchRecords?: number;
  readonly pipelineDepth?: number;
  /**
   * The device's clock (ms), against which a server's disposal claims are checked and which
   * dates the acknowledgement of each batch and gap declaration.
   */
  readonly clock?: () => number;
}

/** A record the server has stored, awaiting (or holding) its verified inclusion proof. */
export interface ArchiveReceiptRow {
  readonly seq: number;
  readonly hash: Uint8Array;
  readonly size: number;
  readonly bucket: string;
  readonly logIndex: number;
  /** The verified c2sp.org/tlog-proof@v1 receipt, once checked. */
  readonly receipt?: string;
  readonly treeSize?: number;
}

const UPLOADED_THROUGH = 'uploaded-through';
/** The server's refusal of a record whose session key it holds from neither the batch nor earlier. */
const LOST_SESSION_KEY = /session key ([0-9a-f]{64}) is neither uploaded nor stored/;
/** Server codes worth retrying: overload, rate limits and faults. */
const TRANSIENT = new Set(['LOG_PUSHBACK', 'RATE_LIMITED', 'INTERNAL', 'UNKNOWN']);

/** ARCHIVE_UPLOAD_FAILED for queued record `r`, sealed to a bucket reported disposed of. */
function disposedRecordError(store: LocalStore, r: QueuedRecord): ClientError {
  const d = disposedBuckets(store).find((x) => x.bucketId === r.bucket);
  const when = d === undefined ? '' : ` at ${new Date(d.disposedAt).toISOString()} under plan ${d.planId}`;
  return new ClientError(
    'ARCHIVE_UPLOAD_FAILED',
    `record ${r.seq} is sealed to bucket ${r.bucket}, which was disposed of${when} (its keys are destroyed): ` +
      'no server can archive it, so the upload stops before it; new records are sealed to the current bucket',
  );
}

/** Last sequence number the server acknowledged (−1 before the first). */
export function uploadedThrough(store: LocalStore): number {
  return store.getJson<number>('archive-state', UPLOADED_THROUGH) ?? -1;
}

/** One signed batch, ready to send. */
interface OutgoingBatch {
  readonly records: readonly QueuedRecord[];
  /** Session keys this batch uploads (not yet acknowledged when it was built). */
  readonly fresh: readonly (readonly [string, StoredSessionKey])[];
  readonly body: Uint8Array;
}

/** A batch in flight: its answer, and whether an earlier batch was unacknowledged when it left. */
interface InFlight {
  readonly batch: OutgoingBatch;
  readonly overtaking: boolean;
  readonly answer: Promise<{ ok: true; indexes: number[] } | { ok: false; error: unknown }>;
}

/**
 * Reads the queue from a sequence number on, in pages, and cuts it into batches: a
 * consecutive run of the chain, at most the record, byte and session-key limits.
 */
class BatchReader {
  #rows: QueuedRecord[] = [];
  #at = 0;
  #next: number;
  /** Session keys looked up for this round (their `uploaded` flag as of the lookup). */
  readonly #keys = new Map<string, StoredSessionKey>();

  constructor(
    private readonly store: LocalStore,
    from: number,
    private readonly maxRecords: number,
    /** Buckets reported disposed of: a batch ends before a record sealed to one. */
    private readonly disposed: ReadonlySet<string>,
  ) {
    this.#next = from + 1;
  }

  /** Marks keys acknowledged by the server, so later batches leave them out. */
  acknowledged(ids: readonly string[]): void {
    for (const id of ids) {
      const k = this.#keys.get(id);
      if (k !== undefined) this.#keys.set(id, { ...k, uploaded: true });
    }
  }

  #peek(): QueuedRecord | undefined {
    if (this.#at === this.#rows.length) {
      const rows = this.store.listAfter('archive-queue', this.#next - 1, UPLOAD_QUEUE_PAGE);
      // Only sealed records upload; pending ones (pending-records.ts) are the queue's tail.
      const sealed = rows.findIndex((r) => isPending(r.value));
      this.#rows = (sealed === -1 ? rows : rows.slice(0, sealed)).map((r) => decodeQueued(r.value));
      this.#at = 0;
    }
    const r = this.#rows[this.#at];
    return r !== undefined && r.seq === this.#next ? r : undefined; // only a consecutive run
  }

  #key(id: string, seq: number): StoredSessionKey {
    let k = this.#keys.get(id);
    if (k === undefined) {
      k = this.store.getJson<StoredSessionKey>('archive-state', `skey:${id}`);
      if (k === undefined) throw new ClientError('STORE_CORRUPT', `session key of record ${seq} is missing`);
      this.#keys.set(id, k);
    }
    return k;
  }

  /**
   * The next batch's records and the keys it must carry; undefined at the end of the run;
   * `blocked` when the next record is sealed to a disposed bucket (the run ends there for good).
   */
  next():
    { records: QueuedRecord[]; fresh: [string, StoredSessionKey][] } | { blocked: QueuedRecord } | undefined {
    const records: QueuedRecord[] = [];
    const fresh = new Map<string, StoredSessionKey>();
    let bytes = BATCH_BODY_FIXED_BYTES;
    for (let r = this.#peek(); r !== undefined && records.length < this.maxRecords; r = this.#peek()) {
      // The server refuses a whole batch for one such record: the records before it go alone.
      if (this.disposed.has(r.bucket)) {
        if (records.length === 0) return { blocked: r };
        break;
      }
      const k = this.#key(r.skey, r.seq);
      const carries = !k.uploaded && !fresh.has(r.skey);
      const add =
        BATCH_BODY_ITEM_BYTES + r.bytes.length + (carries ? BATCH_BODY_ITEM_BYTES + k.wrapped.length : 0);
      if (records.length > 0 && bytes + add > UPLOAD_BATCH_BYTES) break;
      if (carries && fresh.size >= UPLOAD_BATCH_SESSION_KEYS) break;
      if (carries) fresh.set(r.skey, k);
      records.push(r);
      bytes += add;
      this.#at++;
      this.#next++;
    }
    return records.length === 0 ? undefined : { records, fresh: [...fresh.entries()] };
  }
}

/** Uploads the archive queue. */
export class ArchiveUploader {
  private readonly batchRecords: number;
  private readonly pipelineDepth: number;
  private readonly clock: () => number;

  constructor(
    private readonly store: LocalStore,
    private readonly api: ApiClient,
    private readonly profile: DeviceProfile,
    private readonly identityKey: PrivateKey,
    options: UploaderOptions = {},
  ) {
    this.batchRecords = Math.min(
      UPLOAD_BATCH_RECORDS,
      Math.max(1, options.batchRecords ?? UPLOAD_BATCH_RECORDS),
    );
    this.pipelineDepth = Math.max(1, options.pipelineDepth ?? UPLOAD_PIPELINE_DEPTH);
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Compares the local chain with the server's head (after a crash or restore). If the
   * server holds fewer records than the device thinks were acknowledged (restored from an
   * older backup), the device rewinds to re-upload those it still queues, with their session
   * keys (the restore lost the keys with the records); those that already left the queue
   * are declared missing in a signed gap declaration (chain-recovery.ts), and the upload
   * goes on after them. Nothing is declared while the first missing record is still here.
   */
  async resume(): Promise<void> {
    const res = obj(await this.api.request('GET', '/v1/archive/head'), 'archive head');
    const serverLast = int(res, 'nextSeq') - 1;
    const local = uploadedThrough(this.store);
    if (serverLast >= local) return;
    const run = lostRun(this.store, serverLast, local);
    if (run !== undefined) {
      const head = res.head === null ? null : bytes(obj(res.head, 'archive head'), 'hash', 32);
      await declareLostRun(this.api, this.store, this.profile, this.identityKey, run, head);
    }
    const from = run === undefined ? serverLast : run.lastSeq;
    this.store.transaction(() => {
      markKeysNotUploaded(this.store, from + 1, local);
      this.store.putJson('archive-state', UPLOADED_THROUGH, from);
    });
  }

  #sign(
    records: readonly QueuedRecord[],
    fresh: readonly (readonly [string, StoredSessionKey])[],
  ): OutgoingBatch {
    const signature = signBatch(this.identityKey, {
      org: toOrgId(this.profile.orgId),
      device: toDeviceId(this.profile.deviceId),
      firstSeq: records[0]!.seq,
      hashes: records.map((r) => r.hash as RecordHash),
    });
    const body = encodeBatchBody(
      signature,
      fresh.map(([, k]) => k.wrapped),
      records.map((r) => r.bytes),
    );
    return { records, fresh, body };
  }

  async #send(batch: OutgoingBatch): Promise<number[]> {
    const res = obj(
      await this.api.request('POST', '/v1/archive/batches', {
        bytes: batch.body,
        contentType: ARCHIVE_BATCH_MEDIA_TYPE,
      }),
      'upload',
    );
    const indexes = arr(res, 'logIndexes');
    if (indexes.length !== batch.records.length)
      throw new ClientError('SERVER_RESPONSE_INVALID', 'the server answered another number of log indexes');
    // One check per index, no per-index objects (1,000 per batch).
    for (const x of indexes)
      if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0)
        throw new ClientError('SERVER_RESPONSE_INVALID', 'a log index is not a non-negative integer');
    return indexes as number[];
  }

  /**
   * Records an acknowledged batch (one row per batch, not per record: the proof step expands
   * it), with when it was acknowledged by this device's clock: how long its log entries have
   * been missing, should the server never log them.
   */
  #acknowledge(batch: OutgoingBatch, logIndexes: readonly number[]): void {
    const { records } = batch;
    const upload: UploadedBatch = {
      firstSeq: records[0]!.seq,
      hashes: records.map((r) => r.hash),
      sizes: records.map((r) => r.bytes.length),
      buckets: records.map((r) => r.bucket),
      logIndexes,
      acknowledgedAt: this.clock(),
    };
    // Not flushed to disk: losing it to a power cut only makes the device upload the batch
    // again, which the server answers idempotently (a flush per batch was ~28% of its CPU profile).
    this.store.transactionUnflushed(() => {
      this.store.put(
        'archive-uploads',
        String(upload.firstSeq),
        encodeUploadedBatch(upload),
        upload.firstSeq,
      );
      for (const [id, k] of batch.fresh)
        this.store.putJson('archive-state', `skey:${id}`, { ...k, uploaded: true });
      this.store.putJson('archive-state', UPLOADED_THROUGH, records[records.length - 1]!.seq);
    });
  }

  /**
   * One pipelined pass from the last acknowledged record: up to `depth` signed batches in
   * flight, answers taken in sequence order, each recorded as it is taken. Resolves to
   * the records acknowledged, and the error that ended the pass early (if any), with
   * whether the failing batch had overtaken an unacknowledged predecessor; or, every answer
   * taken, the record sealed to a disposed bucket the run stopped at (`blocked`).
   */
  async #pass(depth: number): Promise<{
    acked: number;
    error?: unknown;
    overtaking: boolean;
    blocked?: QueuedRecord;
    /** The buckets of the batch whose refusal is `error`. */
    refusedBuckets?: ReadonlySet<string>;
  }> {
    const reader = new BatchReader(
      this.store,
      uploadedThrough(this.store),
      this.batchRecords,
      disposedBucketIds(this.store),
    );
    const inflight: InFlight[] = [];
    let acked = 0;
    /** Where the run stops early although every answer was taken (a record no server takes). */
    let blocked: QueuedRecord | undefined;
    const launch = (): boolean => {
      const next = reader.next();
      if (next === undefined) return false;
      if ('blocked' in next) {
        blocked = next.blocked;
        return false;
      }
      const batch = this.#sign(next.records, next.fresh);
      const answer = this.#send(batch).then(
        (indexes) => ({ ok: true as const, indexes }),
        (error: unknown) => ({ ok: false as const, error }),
      );
      inflight.push({ batch, overtaking: inflight.length > 0, answer });
      return true;
    };
    try {
      for (;;) {
        while (inflight.length < depth && launch()) {
          // Let the request leave before signing the next batch.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
        const head = inflight.shift();
        if (head === undefined)
          return { acked, overtaking: false, ...(blocked === undefined ? {} : { blocked }) };
        const a = await head.answer;
        if (!a.ok)
          return {
            acked,
            error: a.error,
            overtaking: head.overtaking,
            refusedBuckets: new Set(head.batch.records.map((r) => r.bucket)),
          };
        this.#acknowledge(head.batch, a.indexes);
        reader.acknowledged(head.batch.fresh.map(([id]) => id));
        acked += head.batch.records.length;
      }
    } finally {
      // Later answers are dropped: the next pass re-sends from the last recorded batch
      // (the server's ingest is idempotent, so a batch it already stored costs nothing).
      await Promise.all(inflight.map((f) => f.answer));
    }
  }

  /**
   * Declares lost (reason `bucket-disposed`) the longest run of queued records sealed to
   * disposed buckets from the chain's next sequence number, where the upload stopped at
   * `blocked`. The signed document is kept as a pending gap proof before it is posted (a
   * repeat after a crash posts the same document, which the server answers idempotently);
   * once the server has accepted it, the upload moves past the run (the server's chain goes
   * on from the declaration) but the records stay queued: the server's answer proves nothing
   * is logged, and they are the only copy. The proof pass drops them once the declaration's
   * log entry is proven (gap-proofs.ts), noting when it was accepted (by the device's clock),
   * so that an entry that never shows is reported overdue. A failed post or a refusal leaves the upload
   * position and the queue as they were. ARCHIVE_UPLOAD_FAILED naming the record when it is
   * not the next one to send (nothing to declare then).
   */
  async #declareDisposed(blocked: QueuedRecord): Promise<void> {
    const from = uploadedThrough(this.store) + 1;
    const run = blocked.seq === from ? disposedRun(this.store, from) : undefined;
    if (run === undefined) throw disposedRecordError(this.store, blocked);
    let gap = pendingGapProofs(this.store).find(
      (g) => g.firstSeq === run.firstSeq && g.lastSeq === run.lastSeq && g.reason === 'bucket-disposed',
    );
    if (gap === undefined) {
      const signed: PendingGapProof = {
        firstSeq: run.firstSeq,
        lastSeq: run.lastSeq,
        reason: 'bucket-disposed',
        document: signGapRun(this.profile, this.identityKey, run, 'bucket-disposed'),
      };
      this.store.transaction(() => putPendingGap(this.store, signed));
      gap = signed;
    }
    const logIndex = await postGapDocument(this.api, gap.document, run);
    // When it was accepted, by this device's clock: how long its log entry has been missing.
    const accepted: PendingGapProof = { ...gap, logIndex, acceptedAt: gap.acceptedAt ?? this.clock() };
    this.store.transaction(() => {
      putPendingGap(this.store, accepted);
      this.store.putJson('archive-state', UPLOADED_THROUGH, run.lastSeq);
    });
  }

  /**
   * Uploads everything queued, retrying transient failures (network, overload, server
   * faults) with backoff; resolves to the records acknowledged. A refusal that retrying
   * cannot fix (forged, gap, fork) is ARCHIVE_UPLOAD_FAILED with the server's answer.
   * A pipelined batch refused with ARCHIVE_SEQUENCE_GAP had overtaken its predecessor
   * (they travel on separate connections): it is sent again, without backoff. Records sealed
   * to a bucket refused with BUCKET_DISPOSED are never sent again (disposed-buckets.ts): once
   * everything before them is acknowledged, the device declares them lost in a signed gap
   * declaration (reason `bucket-disposed`) and uploads on in the same round once the server
   * has accepted it, keeping them queued until the declaration is proven logged (proofs.ts);
   * a declaration that fails is retried like a batch, and when it cannot succeed the upload
   * ends there with ARCHIVE_UPLOAD_FAILED, queue intact.
   */
  async uploadAll(maxAttempts = UPLOAD_MAX_ATTEMPTS): Promise<number> {
    let total = 0;
    let attempt = 0;
    for (;;) {
      const pass = await this.#pass(this.pipelineDepth);
      total += pass.acked;
      if (pass.acked > 0) attempt = 0;
      let e = pass.error;
      if (e === undefined && pass.blocked !== undefined) {
        try {
          await this.#declareDisposed(pass.blocked);
          attempt = 0;
          continue;
        } catch (err) {
          e = err;
        }
      }
      if (e === undefined) return total;
      // An overtaking batch's predecessor was acknowledged in this pass: always progress.
      if (pass.overtaking && isServerRefusal(e, 'ARCHIVE_SEQUENCE_GAP')) continue;
      // A session key this device marked uploaded that the server lacks: a rewind before
      // session keys were re-sent with it (an older client) left the device refused for good.
      // Sending the key again is harmless and ends that; each key at most once.
      const lostKey = isServerRefusal(e, 'ARCHIVE_RECORD_INVALID')
        ? LOST_SESSION_KEY.exec(e.message)?.[1]
        : undefined;
      if (lostKey !== undefined && this.store.transaction(() => markKeyNotUploaded(this.store, lostKey)))
        continue;
      // A bucket disposed of: its records can never be archived. Noted (once), so capture
      // stops sealing to it and the next pass sends the records before them, then declares
      // them lost (#declareDisposed) instead of sending them again.
      // The server's word is checked first (disposed-buckets.ts): a claim the device's own
      // bucket documents contradict changes nothing and ends the upload.
      const disposal = isServerRefusal(e, 'BUCKET_DISPOSED') ? disposalOf(e.server!) : undefined;
      if (disposal !== undefined) {
        checkDisposalClaim(this.store, disposal, pass.refusedBuckets ?? new Set(), this.clock());
        if (noteDisposedBucket(this.store, disposal)) continue;
      }
      const transient =
        isClientError(e, 'NETWORK') || (isClientError(e, 'SERVER_REFUSED') && TRANSIENT.has(e.server!.code));
      if (transient && ++attempt < maxAttempts) {
        await sleep(backoffDelay(attempt));
        continue;
      }
      if (isClientError(e, 'SERVER_REFUSED'))
        throw new ClientError('ARCHIVE_UPLOAD_FAILED', e.message, { cause: e, server: e.server! });
      throw e instanceof Error
        ? e
        : new ClientError('ARCHIVE_UPLOAD_FAILED', 'the upload failed', { cause: e });
    }
  }
}
