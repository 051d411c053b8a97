/**
 * The stateful half of archive ingest: checking a verified batch against the device's
 * stored chain, its buckets and session keys, then storing the records, the device's batch
 * signature and one archive-record log entry per record — all in one transaction.
 *
 * Group commit: batches that arrive while a commit runs are queued and written together in
 * the next transaction. A durable commit costs one fsync (SQLite, synchronous=FULL) or one
 * WAL flush (PostgreSQL) however many batches it holds, so throughput grows with load
 * instead of being capped at one batch per fsync. Each batch is still checked on its own:
 * a refused batch writes nothing and does not affect the others in its group (its checks
 * all run before its writes). An unexpected fault fails the group; each batch is then
 * retried alone, so one bad batch cannot fail its neighbours.
 */
import {
  encodeArchiveRecordEntries,
  listsBlobIds,
  type DeviceId as CoreDeviceId,
  type OrgId as CoreOrgId,
} from '@custos/core';
import { isServerError, ServerError } from '../errors.js';
import type { DeviceId, OrgId } from '../ids.js';
import type { BucketRecord } from '../store/bucket-stores.js';
import type { BucketDisposal } from '../store/disposition-stores.js';
import type { BlobId, BlobReference } from '../store/messaging-records.js';
import { MAX_RECORDS_PER_GROUP_COMMIT, PG_GROUP_COMMITS_IN_FLIGHT } from './archive-defaults.js';
import { acceptsRecordsAt } from './bucket-acceptance.js';
import type { SequencedArchiveRecord } from '../store/archive-stores.js';
import type { StoreBackend, Stores } from '../store/stores.js';
import { DEFAULT_MAX_PENDING_ENTRIES } from '../log-service/log-defaults.js';
import type { VerifiedBatch, VerifiedRecord } from './batch-verification.js';
import {
  bucketOf,
  disposalOf,
  hex,
  keysNeeded,
  newGroupCache,
  readHeads,
  readUnlocked,
  recordBuckets,
  sameBytes,
  type GroupCache,
} from './group-reads.js';

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

/** A checked batch whose new records are still to be written (see {@link writePlans}). */
interface WritePlan {
  readonly batch: VerifiedBatch;
  readonly fresh: readonly VerifiedRecord[];
  /** Log indexes of the replayed prefix. */
  readonly replayed: readonly number[];
}

/** BUCKET_DISPOSED naming the bucket, the plan that destroyed its keys and when. */
function disposedError(d: BucketDisposal): ServerError {
  return new ServerError(
    'BUCKET_DISPOSED',
    `bucket ${d.bucketId} was disposed of at ${new Date(d.disposedAt).toISOString()} under disposition plan ` +
      `${d.planId}: its keys are destroyed, so records sealed to it could never be opened; nothing was stored, ` +
      'seal the records to a current bucket',
    { details: { bucketId: d.bucketId, planId: d.planId, disposedAt: d.disposedAt } },
  );
}

/**
 * Checks `batch` against the store as `tx` sees it; `pendingEntries` log entries of the org
 * are planned but not yet written. Resolves to a receipt for a pure replay, or to the
 * writes still to do. Throws ARCHIVE_SEQUENCE_GAP, ARCHIVE_FORK, BUCKET_NOT_FOUND,
 * BUCKET_DISPOSED, BUCKET_NOT_VALID, ARCHIVE_RECORD_INVALID (unknown session key) or
 * LOG_PUSHBACK. `tx` MUST hold the batch's device and bucket locks (lockDevices).
 */
async function planBatch(
  tx: Stores,
  batch: VerifiedBatch,
  now: number,
  pendingEntries: number,
  cache: GroupCache = newGroupCache(),
): Promise<{ receipt: BatchReceipt } | { plan: WritePlan }> {
  const { orgId, deviceId, records } = batch;
  const headKey = `${orgId}/${deviceId}`;
  const head = cache.heads.has(headKey) ? cache.heads.get(headKey) : await tx.archive.head(orgId, deviceId);
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
      if (!sameBytes(s.hash, records[i]!.hash)) {
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
    return {
      receipt: { logIndexes: indexes, stored: 0, headSeq: last.header.seq, headHash: Buffer.from(last.hash) },
    };
  }
  const first = fresh[0]!;
  const expectedPrev = head === undefined ? new Uint8Array(32) : head.hash;
  if (!sameBytes(first.header.prev, expectedPrev)) {
    throw new ServerError(
      'ARCHIVE_FORK',
      `expected sequence number ${nextSeq} to link to ${hex(expectedPrev)}, it links to ${hex(first.header.prev)} (fork)`,
    );
  }
  // Buckets: registered (their key signed by the key manager, checked at registration), not
  // disposed of, and in their window. The disposal is checked first and whatever the clock
  // says: a clock set back, or another node's, can put a disposed bucket's window around
  // `now`, and a record stored there could never be opened (acknowledged, yet lost).
  const buckets = new Map<string, BucketRecord>();
  for (const r of fresh) {
    const id = r.header.bucket as string;
    if (buckets.has(id)) continue;
    const b = await bucketOf(tx, cache, orgId, id);
    if (b === undefined) throw new ServerError('BUCKET_NOT_FOUND', `bucket ${id} is not registered`);
    const disposal = await disposalOf(tx, cache, orgId, id);
    if (disposal !== null) throw disposedError(disposal);
    if (!acceptsRecordsAt(b, now)) {
      throw new ServerError('BUCKET_NOT_VALID', `bucket ${id} is not valid now (window ended or not begun)`);
    }
    // A revoked device hands in only what it sealed before its revocation: a bucket whose
    // window began after it, or whose key was registered after it (a window backdated at
    // registration), cannot hold such a record (the finest bounds the server can see).
    if (
      batch.revokedAt !== undefined &&
      (b.notBefore > batch.revokedAt || b.registeredAt > batch.revokedAt)
    ) {
      const late =
        b.notBefore > batch.revokedAt ? ['begins', b.notBefore] : ['was registered', b.registeredAt];
      throw new ServerError(
        'BUCKET_NOT_VALID',
        `bucket ${id} ${late[0]} at ${new Date(late[1] as number).toISOString()}, after this device was revoked at ` +
          `${new Date(batch.revokedAt).toISOString()}: a revoked device hands in only records sealed before its revocation`,
      );
    }
    buckets.set(id, b);
  }
  // Session keys: every record's key must be uploaded now or earlier, so officers can open it.
  for (const k of batch.sessionKeys) {
    if (!buckets.has(k.bucket) && (await bucketOf(tx, cache, orgId, k.bucket)) === undefined) {
      throw new ServerError('BUCKET_NOT_FOUND', `a session key is sealed to unregistered bucket ${k.bucket}`);
    }
  }
  const needed = keysNeeded({ ...batch, records: fresh });
  for (const id of cache.knownKeys) needed.delete(id);
  if (needed.size > 0) {
    const known = await tx.archive.knownSessionKeys(orgId, [...needed.values()]);
    for (const id of known) cache.knownKeys.add(id);
    for (const id of needed.keys()) {
      if (!known.has(id)) {
        throw new ServerError('ARCHIVE_RECORD_INVALID', `session key ${id} is neither uploaded nor stored`);
      }
    }
  }
  // The pushback rule of sequenceEntries, counting what this group already planned.
  let backlog = cache.backlogs.get(orgId);
  if (backlog === undefined) {
    backlog = await tx.log.backlog(orgId);
    cache.backlogs.set(orgId, backlog);
  }
  if (backlog.nextIndex - backlog.treeSize + pendingEntries + fresh.length > DEFAULT_MAX_PENDING_ENTRIES) {
    throw new ServerError(
      'LOG_PUSHBACK',
      `the log has ${backlog.nextIndex - backlog.treeSize} entries waiting for integration; retry shortly`,
    );
  }
  return { plan: { batch, fresh, replayed: indexes } };
}

/**
 * Writes checked batches of one org in one go: their session keys, then the log entries
 * and records of all of them together (one statement on PostgreSQL; fewer statements and
 * round trips than batch by batch). Plans MUST NOT contain two batches of the same device,
 * since each was checked against the stored chain without the others.
 */
async function writePlans(
  tx: Stores,
  orgId: OrgId,
  plans: readonly WritePlan[],
  now: number,
): Promise<BatchReceipt[]> {
  const entries: Uint8Array[] = [];
  for (const { batch, fresh } of plans) {
    const run = {
      org: orgId as string as CoreOrgId,
      device: batch.deviceId as string as CoreDeviceId,
      time: now,
    };
    const fields = fresh.map((r) => ({
      hash: r.hash,
      size: r.bytes.length,
      seq: r.header.seq,
      bucket: r.header.bucket,
    }));
    for (const e of encodeArchiveRecordEntries(run, fields)) entries.push(e);
  }
  // Session keys first: they need no log index, so they stay out of the span in which the
  // log's sequence row is locked (from sequencing to commit).
  const keys = plans.flatMap(({ batch }) =>
    batch.sessionKeys.map((k) => ({
      keyId: k.keyId,
      deviceId: batch.deviceId,
      wrapped: k.wrapped,
      receivedAt: now,
    })),
  );
  if (keys.length > 0) await tx.archive.putSessionKeys(orgId, keys);
  // The device signatures, one row per batch (not per record), likewise before sequencing.
  // A batch that replays a prefix still signs all its records, so it is stored whole.
  await tx.search.putBatches(
    orgId,
    plans.map(({ batch }) => ({
      deviceId: batch.deviceId,
      firstSeq: batch.firstSeq,
      count: batch.records.length,
      signature: Buffer.from(batch.signature),
      hashes: Buffer.concat(batch.records.map((r) => r.hash)),
    })),
  );
  const rows: SequencedArchiveRecord[] = [];
  for (const { batch, fresh } of plans) {
    for (const r of fresh) {
      rows.push({
        deviceId: batch.deviceId,
        seq: r.header.seq,
        hash: r.hash,
        bucketId: r.header.bucket,
        receivedAt: now,
        bytes: r.bytes,
      });
    }
  }
  // planBatch applied the pushback rule to every plan of this group.
  let next = await tx.archive.insertSequenced(orgId, rows, entries);
  await keepBlobReferences(tx, orgId, plans, next);
  const receipts: BatchReceipt[] = [];
  for (const { fresh, replayed } of plans) {
    const indexes = [...replayed];
    for (let i = 0; i < fresh.length; i++) indexes.push(next++);
    const last = fresh[fresh.length - 1]!;
    receipts.push({
      logIndexes: indexes,
      stored: fresh.length,
      headSeq: last.header.seq,
      headHash: Buffer.from(last.hash),
    });
  }
  return receipts;
}

/**
 * Keeps the blob references of the plans' new records, whose log indexes start at `first`
 * (docs/operations.md, "Blobs"): the ids their headers list ("att"), so the blob sweep leaves
 * those blobs while the records live. (A record with attachments that lists none comes from a
 * client older than the field: {@link noteUnlisted} has noted it at the transaction's start.)
 */
async function keepBlobReferences(
  tx: Stores,
  orgId: OrgId,
  plans: readonly WritePlan[],
  first: number,
): Promise<void> {
  const refs: BlobReference[] = [];
  let logIndex = first;
  for (const { fresh } of plans) {
    for (const { header } of fresh) {
      if (listsBlobIds(header)) {
        for (const blobId of header.blobIds!)
          refs.push({ logIndex, bucketId: header.bucket, blobId: blobId as BlobId });
      }
      logIndex++;
    }
  }
  await tx.blobs.putReferences(orgId, refs);
}

/** Whether a record of `b` has attachments but lists no blob ids: an older client's. */
function hasUnlistedAttachments(b: VerifiedBatch): boolean {
  return b.records.some(({ header }) => !listsBlobIds(header) && header.attachmentBytes > 0);
}

/**
 * Notes that records which may reference blobs without listing them arrive now (`batches`
 * holding any), so the blob sweep keeps every blob uploaded before. Called first in the
 * transaction, before any device or log-sequence lock: the one shared row is then always taken
 * before the per-org locks, by every group on every node, so it closes no deadlock cycle.
 * (A batch that turns out a replay, or is refused while others of its group commit, moves the
 * mark too: it only ever makes the sweep keep more, and no answer depends on it.)
 */
async function noteUnlisted(tx: Stores, batches: readonly VerifiedBatch[], now: number): Promise<void> {
  if (batches.some(hasUnlistedAttachments)) await tx.blobs.noteUnlistedReferences(now);
}

/** Checks `batch` against the store and writes it using `tx` (nothing is written when a check fails). */
export async function applyBatch(tx: Stores, batch: VerifiedBatch, now: number): Promise<BatchReceipt> {
  await noteUnlisted(tx, [batch], now);
  await tx.archive.lockDevices(batch.orgId, [batch.deviceId], recordBuckets([batch]).get(batch.orgId));
  const r = await planBatch(tx, batch, now, 0);
  if ('receipt' in r) return r.receipt;
  return (await writePlans(tx, batch.orgId, [r.plan], now))[0]!;
}

const deviceKey = (b: VerifiedBatch): string => `${b.orgId}/${b.deviceId}`;

interface Pending {
  readonly batch: VerifiedBatch;
  readonly resolve: (r: BatchReceipt) => void;
  readonly reject: (e: unknown) => void;
}

/** Queues verified batches and commits them in groups (see the module comment). */
export class ArchiveCommitter {
  #queue: Pending[] = [];
  #draining = false;
  /** Group commits under way (at most {@link #maxGroups}). */
  readonly #running = new Set<Promise<void>>();
  /** Devices (`org/device`) with a batch in a group under way. */
  readonly #busy = new Set<string>();
  /** Whether lock-free reads run outside the group's transaction (PostgreSQL only, see group-reads.ts). */
  readonly #readOutside: boolean;
  readonly #maxGroups: number;

  constructor(
    private readonly stores: Stores,
    private readonly clock: () => number,
  ) {
    const postgres = (stores as Partial<StoreBackend>).kind === 'postgres';
    this.#readOutside = postgres;
    // SQLite has one connection (and already overlaps a commit's sync with the next group).
    this.#maxGroups = postgres ? PG_GROUP_COMMITS_IN_FLIGHT : 1;
  }

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
        // PostgreSQL runs a second group while one commits: its reads and device locks
        // overlap the first one's writes and WAL flush, and it waits for the log's sequence
        // row only to write. Groups lock their devices in one sorted statement and then the
        // sequence row, so two groups cannot deadlock.
        while (this.#running.size >= this.#maxGroups) await Promise.race(this.#running);
        // Let requests that are between authentication and verification reach the queue
        // first: SQLite's commit blocks the event loop, so without this yield each group
        // would hold only the one batch that was ready when the last commit ended.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const group = this.#takeGroup();
        if (group.length === 0) {
          // Everything queued belongs to devices of the group under way: wait for it.
          await Promise.race(this.#running);
          continue;
        }
        const devices = group.map((p) => deviceKey(p.batch));
        for (const d of devices) this.#busy.add(d);
        const run: Promise<void> = this.#commitGroup(group)
          .catch((e: unknown) => group.forEach((p) => p.reject(e))) // not expected: it settles every batch itself
          .finally(() => {
            for (const d of devices) this.#busy.delete(d);
            this.#running.delete(run);
          });
        this.#running.add(run);
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * Takes the next group off the queue, in order, leaving the batches of devices that a
   * group under way holds: lock order between two groups is not queue order, so a device's
   * later batch must not race its earlier one (it would be checked against the chain
   * without it). Those wait, still in order, for the next group.
   */
  #takeGroup(): Pending[] {
    const group: Pending[] = [];
    const left: Pending[] = [];
    let records = 0;
    for (const p of this.#queue) {
      if (
        this.#busy.has(deviceKey(p.batch)) ||
        (group.length > 0 && records >= MAX_RECORDS_PER_GROUP_COMMIT)
      ) {
        left.push(p);
      } else {
        group.push(p);
        records += p.batch.records.length;
      }
    }
    this.#queue = left;
    return group;
  }

  async #commitGroup(group: readonly Pending[]): Promise<void> {
    const now = this.clock();
    const outcomes: ({ ok: true; r: BatchReceipt } | { ok: false; e: unknown })[] = [];
    const batches = group.map((p) => p.batch);
    // PostgreSQL: the reads no lock protects run on other connections meanwhile (group-reads.ts).
    const unlocked = this.#readOutside ? readUnlocked(this.stores, batches) : null;
    unlocked?.catch(() => undefined); // awaited in the transaction; it may fail before getting there
    try {
      await this.stores.withTransaction(async (tx) => {
        outcomes.length = 0;
        await noteUnlisted(tx, batches, now);
        const byOrg = new Map<OrgId, DeviceId[]>();
        for (const p of group)
          byOrg.set(p.batch.orgId, [...(byOrg.get(p.batch.orgId) ?? []), p.batch.deviceId]);
        // The buckets' locks (shared) keep a disposition on any node from destroying their
        // keys between the check below (readHeads reads their disposals) and the commit.
        const buckets = recordBuckets(batches);
        for (const org of [...byOrg.keys()].sort())
          await tx.archive.lockDevices(org, byOrg.get(org)!, buckets.get(org));
        // Checked batches wait here and are written together; a second batch of a device
        // already waiting flushes first, so it is checked against its predecessor's rows.
        let planned: { at: number; plan: WritePlan }[] = [];
        const plannedDevices = new Set<string>();
        const pendingByOrg = new Map<OrgId, number>();
        const cache = unlocked === null ? newGroupCache() : await unlocked;
        await readHeads(tx, cache, batches, unlocked === null);
        const flush = async (): Promise<void> => {
          const byOrgPlans = new Map<OrgId, { at: number; plan: WritePlan }[]>();
          for (const x of planned)
            byOrgPlans.set(x.plan.batch.orgId, [...(byOrgPlans.get(x.plan.batch.orgId) ?? []), x]);
          for (const [org, xs] of byOrgPlans) {
            const receipts = await writePlans(
              tx,
              org,
              xs.map((x) => x.plan),
              now,
            );
            xs.forEach((x, i) => (outcomes[x.at] = { ok: true, r: receipts[i]! }));
          }
          for (const x of planned) cache.heads.delete(`${x.plan.batch.orgId}/${x.plan.batch.deviceId}`);
          planned = [];
          cache.backlogs.clear();
          plannedDevices.clear();
          pendingByOrg.clear();
        };
        for (const [at, p] of group.entries()) {
          const device = `${p.batch.orgId}/${p.batch.deviceId}`;
          if (plannedDevices.has(device)) await flush();
          try {
            const plan = () => planBatch(tx, p.batch, now, pendingByOrg.get(p.batch.orgId) ?? 0, cache);
            // A session key uploaded by a batch still waiting is not stored yet: flush and check again.
            const r = await plan().catch(async (e: unknown) => {
              if (planned.length === 0 || !isServerError(e, 'ARCHIVE_RECORD_INVALID')) throw e;
              await flush();
              return plan();
            });
            if ('receipt' in r) {
              outcomes[at] = { ok: true, r: r.receipt };
            } else {
              planned.push({ at, plan: r.plan });
              plannedDevices.add(device);
              pendingByOrg.set(p.batch.orgId, (pendingByOrg.get(p.batch.orgId) ?? 0) + r.plan.fresh.length);
            }
          } catch (e) {
            if (!isServerError(e)) throw e; // unexpected: fail the group, retry one by one below
            outcomes[at] = { ok: false, e };
          }
        }
        await flush();
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
