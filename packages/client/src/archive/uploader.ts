/**
 * Uploading queued records: consecutive runs of the chain, signed as one batch with the
 * identity key (core/sign), with the wrapped session keys the server does not have yet.
 * Uploads are idempotent on the server (a replayed batch stores nothing and answers the
 * same log indexes), so after a crash the device simply uploads again from its last
 * acknowledged sequence number: each record is stored exactly once. A record leaves the
 * queue only later, when its inclusion proof has verified (proofs.ts).
 */
import { deviceId as toDeviceId, orgId as toOrgId, signBatch, type RecordHash } from '@custos/core';
import type { PrivateKey } from '@signalapp/libsignal-client';
import { ClientError, isClientError } from '../errors.js';
import type { DeviceProfile } from '../profile.js';
import type { LocalStore } from '../store/local-store.js';
import type { ApiClient } from '../transport/api-client.js';
import { backoffDelay, sleep } from '../transport/backoff.js';
import { arr, int, obj } from '../transport/response-checks.js';
import { decodeQueued, type QueuedRecord, type StoredSessionKey } from './capture.js';

/** Most records per upload (the server takes up to 1,000). */
export const UPLOAD_BATCH_RECORDS = 1000;
/** Most record bytes per upload (base64 grows them by a third; the server body limit is 8 MiB). */
export const UPLOAD_BATCH_BYTES = 4 * 1024 * 1024;
/** Most wrapped session keys per upload (server limit). */
export const UPLOAD_BATCH_SESSION_KEYS = 16;
/** Retries of one batch before giving up for this round (the queue keeps it). */
export const UPLOAD_MAX_ATTEMPTS = 8;

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

/** A batch the server acknowledged, awaiting proofs (table `archive-uploads`, key = first seq). */
export interface UploadedBatch {
  readonly firstSeq: number;
  readonly hashes: readonly Uint8Array[];
  readonly sizes: readonly number[];
  readonly buckets: readonly string[];
  readonly logIndexes: readonly number[];
}

const UPLOADED_THROUGH = 'uploaded-through';
/** Server codes worth retrying: overload, rate limits and faults. */
const TRANSIENT = new Set(['LOG_PUSHBACK', 'RATE_LIMITED', 'INTERNAL', 'UNKNOWN']);

/** Last sequence number the server acknowledged (−1 before the first). */
export function uploadedThrough(store: LocalStore): number {
  return store.getJson<number>('archive-state', UPLOADED_THROUGH) ?? -1;
}

/** Uploads the archive queue. */
export class ArchiveUploader {
  constructor(
    private readonly store: LocalStore,
    private readonly api: ApiClient,
    private readonly profile: DeviceProfile,
    private readonly identityKey: PrivateKey,
  ) {}

  /**
   * Compares the local chain with the server's head (after a crash or restore). If the
   * server holds fewer records than the device thinks were acknowledged, the device rewinds
   * to re-upload them while they are still queued; if they are gone, ARCHIVE_UPLOAD_FAILED.
   */
  async resume(): Promise<void> {
    const head = obj(await this.api.request('GET', '/v1/archive/head'), 'archive head');
    const serverLast = int(head, 'nextSeq') - 1;
    const local = uploadedThrough(this.store);
    if (serverLast >= local) return;
    if (this.store.get('archive-queue', String(serverLast + 1)) === undefined) {
      throw new ClientError(
        'ARCHIVE_UPLOAD_FAILED',
        `the server's archive head (${serverLast}) is behind records this device no longer holds`,
      );
    }
    this.store.putJson('archive-state', UPLOADED_THROUGH, serverLast);
  }

  /** Uploads one batch; resolves to the number of records acknowledged (0 when the queue is empty). */
  async uploadBatch(): Promise<number> {
    const from = uploadedThrough(this.store);
    const rows = this.store.listAfter('archive-queue', from, UPLOAD_BATCH_RECORDS);
    const records: QueuedRecord[] = [];
    const keys = new Map<string, StoredSessionKey>();
    let bytes = 0;
    for (const row of rows) {
      const r = decodeQueued(row.value);
      if (r.seq !== from + 1 + records.length) break; // only a consecutive run
      if (records.length > 0 && bytes + r.bytes.length > UPLOAD_BATCH_BYTES) break;
      if (!keys.has(r.skey)) {
        const k = this.store.getJson<StoredSessionKey>('archive-state', `skey:${r.skey}`);
        if (k === undefined)
          throw new ClientError('STORE_CORRUPT', `session key of record ${r.seq} is missing`);
        if (!k.uploaded && [...keys.values()].filter((x) => !x.uploaded).length >= UPLOAD_BATCH_SESSION_KEYS)
          break;
        keys.set(r.skey, k);
      }
      records.push(r);
      bytes += r.bytes.length;
    }
    if (records.length === 0) return 0;
    const signature = signBatch(this.identityKey, {
      org: toOrgId(this.profile.orgId),
      device: toDeviceId(this.profile.deviceId),
      firstSeq: records[0]!.seq,
      hashes: records.map((r) => r.hash as RecordHash),
    });
    const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
    const fresh = [...keys.entries()].filter(([, k]) => !k.uploaded);
    const res = obj(
      await this.api.request('POST', '/v1/archive/batches', {
        body: {
          records: records.map((r) => b64(r.bytes)),
          signature: b64(signature),
          ...(fresh.length === 0 ? {} : { sessionKeys: fresh.map(([, k]) => b64(k.wrapped)) }),
        },
      }),
      'upload',
    );
    const indexes = arr(res, 'logIndexes');
    if (indexes.length !== records.length)
      throw new ClientError('SERVER_RESPONSE_INVALID', 'the server answered another number of log indexes');
    const upload: UploadedBatch = {
      firstSeq: records[0]!.seq,
      hashes: records.map((r) => r.hash),
      sizes: records.map((r) => r.bytes.length),
      buckets: records.map((r) => r.bucket),
      logIndexes: indexes.map((x, i) => int({ [i]: x }, String(i))),
    };
    // One row per batch (not per record): the proof step expands it.
    this.store.transaction(() => {
      this.store.putJson('archive-uploads', String(upload.firstSeq), upload, upload.firstSeq);
      for (const [id, k] of fresh)
        this.store.putJson('archive-state', `skey:${id}`, { ...k, uploaded: true });
      this.store.putJson('archive-state', UPLOADED_THROUGH, records[records.length - 1]!.seq);
    });
    return records.length;
  }

  /**
   * Uploads everything queued, retrying transient failures (network, overload, server
   * faults) with backoff; resolves to the records acknowledged. A refusal that retrying
   * cannot fix (forged, gap, fork) is ARCHIVE_UPLOAD_FAILED with the server's answer.
   */
  async uploadAll(maxAttempts = UPLOAD_MAX_ATTEMPTS): Promise<number> {
    let total = 0;
    let attempt = 0;
    for (;;) {
      let n: number;
      try {
        n = await this.uploadBatch();
      } catch (e) {
        const transient =
          isClientError(e, 'NETWORK') ||
          (isClientError(e, 'SERVER_REFUSED') && TRANSIENT.has(e.server!.code));
        if (transient && ++attempt < maxAttempts) {
          await sleep(backoffDelay(attempt));
          continue;
        }
        if (isClientError(e, 'SERVER_REFUSED'))
          throw new ClientError('ARCHIVE_UPLOAD_FAILED', e.message, { cause: e, server: e.server! });
        throw e;
      }
      if (n === 0) return total;
      total += n;
      attempt = 0;
    }
  }
}
