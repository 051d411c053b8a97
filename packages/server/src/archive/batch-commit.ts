/**
 * The stateful half of archive ingest: checking a verified batch against the device's
 * stored chain, its buckets and session keys, then storing the records and sequencing one
 * archive-record log entry each — all in one transaction.
 *
 * Group commit: batches that arrive while a commit runs are queued and written together in
 * the next transaction. A durable commit costs one fsync (SQLite, synchronous=FULL) or one
 * WAL flush (PostgreSQL) however many batches it holds, so throughput grows with load
 * instead of being capped at one batch per fsync. Each batch is still checked on its own:
 * a refused batch writes nothing and does not affect the others in its group (its checks
 * all run before its writes). An unexpected fault fails the group; each batch is then
 * retried alone, so one bad batch cannot fail its neighbours.
 */
import { encodeLogEntry, type DeviceId as CoreDeviceId, type OrgId as CoreOrgId } from '@custos/core';
import { isServerError, ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import { sequenceEntries } from '../log-service/sequencing.js';
import type { BucketRecord } from '../store/bucket-stores.js';
import type { Stores } from '../store/stores.js';
import { BUCKET_LATE_UPLOAD_GRACE_MS, MAX_RECORDS_PER_GROUP_COMMIT } from './archive-defaults.js';
import type { VerifiedBatch } from './batch-verification.js';

/** What the device learns about its committed batch. */
export interface BatchReceipt {
  /** Log index of each record of the batch, in order (replayed records keep their first index). */
  readonly logIndexes: readonly number[];
  /** How many records were new (0 for a replayed batch). */
  readonly stored: number;
  /** The device's chain head after the batch. */
  readonly headSeq: number;
  readonly headHash: Buffer;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

function bucketUsable(b: BucketRecord, now: number): boolean {
  return b.notBefore <= now && now <= b.notAfter + BUCKET_LATE_UPLOAD_GRACE_MS;
}

/**
 * Checks `batch` against the store and writes it using `tx`. Throws ARCHIVE_SEQUENCE_GAP,
 * ARCHIVE_FORK, BUCKET_NOT_FOUND, BUCKET_NOT_VALID, ARCHIVE_RECORD_INVALID (unknown session
 * key) or LOG_PUSHBACK before writing anything.
 */
export async function applyBatch(tx: Stores, batch: VerifiedBatch, now: number): Promise<BatchReceipt> {
  const { orgId, deviceId, records } = batch;
  const head = await tx.archive.head(orgId, deviceId);
  const nextSeq = head === undefined ? 0 : head.seq + 1;
  if (batch.firstSeq > nextSeq) {
    throw new ServerError(
      'ARCHIVE_SEQUENCE_GAP',
      `expected sequence number ${nextSeq}, the batch starts at ${batch.firstSeq} (gap)`,
    );
  }
  // Records the store already holds must be exactly the stored ones (an idempotent replay).
  const replayCount = Math.min(records.length, nextSeq - batch.firstSeq);
  const indexes: number[] = [];
  if (replayCount > 0) {
    const stored = await tx.archive.range(orgId, deviceId, batch.firstSeq, batch.firstSeq + replayCount - 1);
    for (let i = 0; i < replayCount; i++) {
      const s = stored[i];
      if (s === undefined || s.seq !== batch.firstSeq + i) {
        throw new ServerError('ARCHIVE_FORK', `stored chain lacks sequence number ${batch.firstSeq + i}`);
      }
      if (hex(s.hash) !== hex(records[i]!.hash)) {
        throw new ServerError(
          'ARCHIVE_FORK',
          `sequence number ${s.seq} is already stored with another record (fork); expected sequence number ${nextSeq}`,
        );
      }
      indexes.push(s.logIndex);
    }
  }
  const fresh = records.slice(replayCount);
  if (fresh.length === 0) {
    const last = records[records.length - 1]!;
    return { logIndexes: indexes, stored: 0, headSeq: last.header.seq, headHash: Buffer.from(last.hash) };
  }
  const first = fresh[0]!;
  const expectedPrev = head === undefined ? new Uint8Array(32) : head.hash;
  if (hex(first.header.prev) !== hex(expectedPrev)) {
    throw new ServerError(
      'ARCHIVE_FORK',
      `expected sequence number ${nextSeq} to link to ${hex(expectedPrev)}, it links to ${hex(first.header.prev)} (fork)`,
    );
  }
  // Buckets: registered (their key signed by the key manager, checked at registration) and in their window.
  const buckets = new Map<string, BucketRecord>();
  for (const r of fresh) {
    const id = r.header.bucket as string;
    if (buckets.has(id)) continue;
    const b = await tx.buckets.get(orgId, id);
    if (b === undefined) throw new ServerError('BUCKET_NOT_FOUND', `bucket ${id} is not registered`);
    if (!bucketUsable(b, now)) {
      throw new ServerError('BUCKET_NOT_VALID', `bucket ${id} is not valid now (window ended or not begun)`);
    }
    buckets.set(id, b);
  }
  // Session keys: every record's key must be uploaded now or earlier, so officers can open it.
  const uploaded = new Map(batch.sessionKeys.map((k) => [hex(k.keyId), k]));
  for (const k of batch.sessionKeys) {
    if (!buckets.has(k.bucket) && (await tx.buckets.get(orgId, k.bucket)) === undefined) {
      throw new ServerError('BUCKET_NOT_FOUND', `a session key is sealed to unregistered bucket ${k.bucket}`);
    }
  }
  const needed = new Map<string, Uint8Array>();
  for (const r of fresh) {
    const id = hex(r.header.sessionKeyId);
    if (!uploaded.has(id)) needed.set(id, r.header.sessionKeyId);
  }
  if (needed.size > 0) {
    const known = await tx.archive.knownSessionKeys(orgId, [...needed.values()]);
    for (const id of needed.keys()) {
      if (!known.has(id)) {
        throw new ServerError('ARCHIVE_RECORD_INVALID', `session key ${id} is neither uploaded nor stored`);
      }
    }
  }
  const entries = fresh.map((r) =>
    encodeLogEntry({
      type: 'archive-record',
      hash: r.hash,
      size: r.bytes.length,
      actor: deviceId,
      time: now,
      org: orgId as string as CoreOrgId,
      device: deviceId as string as CoreDeviceId,
      seq: r.header.seq,
      bucket: r.header.bucket,
    }),
  );
  const firstIndex = await sequenceEntries(tx, orgId, entries);
  if (batch.sessionKeys.length > 0) {
    await tx.archive.putSessionKeys(
      orgId,
      batch.sessionKeys.map((k) => ({ keyId: k.keyId, deviceId, wrapped: k.wrapped, receivedAt: now })),
    );
  }
  await tx.archive.insert(
    orgId,
    fresh.map((r, i) => ({
      deviceId,
      seq: r.header.seq,
      hash: r.hash,
      bucketId: r.header.bucket,
      logIndex: firstIndex + i,
      receivedAt: now,
      bytes: r.bytes,
    })),
  );
  for (let i = 0; i < fresh.length; i++) indexes.push(firstIndex + i);
  const last = fresh[fresh.length - 1]!;
  return {
    logIndexes: indexes,
    stored: fresh.length,
    headSeq: last.header.seq,
    headHash: Buffer.from(last.hash),
  };
}

interface Pending {
  readonly batch: VerifiedBatch;
  readonly resolve: (r: BatchReceipt) => void;
  readonly reject: (e: unknown) => void;
}

/** Queues verified batches and commits them in groups (see the module comment). */
export class ArchiveCommitter {
  #queue: Pending[] = [];
  #draining = false;

  constructor(
    private readonly stores: Stores,
    private readonly clock: () => number,
  ) {}

  /** Resolves once the batch is durably committed (or rejects with the reason it was refused). */
  commit(batch: VerifiedBatch): Promise<BatchReceipt> {
    return new Promise<BatchReceipt>((resolve, reject) => {
      this.#queue.push({ batch, resolve, reject });
      if (!this.#draining) {
        this.#draining = true;
        void this.#drain();
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        // Let requests that are between authentication and verification reach the queue
        // first: SQLite's commit blocks the event loop, so without this yield each group
        // would hold only the one batch that was ready when the last commit ended.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const group: Pending[] = [];
        let records = 0;
        while (this.#queue.length > 0 && (group.length === 0 || records < MAX_RECORDS_PER_GROUP_COMMIT)) {
          const p = this.#queue.shift()!;
          group.push(p);
          records += p.batch.records.length;
        }
        await this.#commitGroup(group);
      }
    } finally {
      this.#draining = false;
    }
  }

  async #commitGroup(group: readonly Pending[]): Promise<void> {
    const now = this.clock();
    const outcomes: ({ ok: true; r: BatchReceipt } | { ok: false; e: unknown })[] = [];
    try {
      await this.stores.withTransaction(async (tx) => {
        outcomes.length = 0;
        const byOrg = new Map<OrgId, DeviceId[]>();
        for (const p of group)
          byOrg.set(p.batch.orgId, [...(byOrg.get(p.batch.orgId) ?? []), p.batch.deviceId]);
        for (const org of [...byOrg.keys()].sort()) await tx.archive.lockDevices(org, byOrg.get(org)!);
        for (const p of group) {
          try {
            outcomes.push({ ok: true, r: await applyBatch(tx, p.batch, now) });
          } catch (e) {
            if (!isServerError(e)) throw e; // unexpected: fail the group, retry one by one below
            outcomes.push({ ok: false, e });
          }
        }
      });
    } catch (e) {
      if (group.length === 1) {
        group[0]!.reject(e);
        return;
      }
      for (const p of group) await this.#commitGroup([p]);
      return;
    }
    group.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.r);
      else p.reject(o.e);
    });
  }
}

const committers = new WeakMap<Stores, ArchiveCommitter>();

/** The process's committer for `stores` (one queue per store, so groups span all requests). */
export function archiveCommitterFor(stores: Stores, clock: () => number): ArchiveCommitter {
  let c = committers.get(stores);
  if (c === undefined) {
    c = new ArchiveCommitter(stores, clock);
    committers.set(stores, c);
  }
  return c;
}
