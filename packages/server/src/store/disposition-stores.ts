/**
 * Disposition (docs/officers.md "Retention and disposition"): plans, officer approvals, the
 * per-bucket progress of an execution (so an interrupted run resumes where it stopped), the
 * buckets whose keys are gone, and the bulk deletions themselves. Every query filters on
 * the org id. Each deletion is idempotent: deleting rows that are already gone changes
 * nothing, so a step re-run after a crash is harmless.
 */
import type { DeviceId, OrgId } from '../ids.js';
import { PG_BUCKET_LOCK_CLASS } from './archive-stores.js';
import { asBuffer, insertAll } from './log-stores.js';
import { bytes, int, intOrNull, text } from './row-checks.js';
import { allIn, sql, type SqlExecutor } from './sql.js';

/** Where a plan stands. */
export type PlanState = 'proposed' | 'executing' | 'executed';

/** A stored plan. */
export interface PlanRecord {
  readonly planId: string;
  /** The plan's deterministic CBOR bytes (core `encodeDispositionPlan`). */
  readonly plan: Buffer;
  readonly state: PlanState;
  readonly createdBy: DeviceId;
  readonly createdAt: number;
  readonly certificate: Buffer | null;
  /** Index of the certificate's log entry; null when the audit sink does not sequence (tests). */
  readonly certificateLogIndex: number | null;
  readonly executedBy: DeviceId | null;
  readonly executedAt: number | null;
}

/** One officer's stored approval. */
export interface ApprovalRecord {
  readonly officerIndex: number;
  readonly signature: Buffer;
  readonly deviceId: DeviceId;
  readonly at: number;
}

/** The steps of one bucket's disposition, in order. */
export const BUCKET_STEPS = ['postings', 'records', 'keys', 'done'] as const;
/** A bucket's step. */
export type BucketStep = (typeof BUCKET_STEPS)[number];

/** How far one bucket of an executing plan has come. */
export interface BucketProgress {
  readonly bucketId: string;
  readonly step: BucketStep;
  /** Within the step: the last block (postings) or leaf index (records) done; -1 before the first. */
  readonly cursor: number;
  readonly disposed: number;
  readonly held: number;
  readonly keysDestroyed: boolean;
}

/** The facts of a record that holds are decided on (held-records.ts RecordFacts). */
export interface BucketRecordFacts {
  readonly deviceId: DeviceId;
  readonly logIndex: number;
  readonly receivedAt: number;
}

/** That a disposition destroyed a bucket's keys: under which plan, and when. */
export interface BucketDisposal {
  readonly bucketId: string;
  readonly planId: string;
  /** Server time of the keys step (ms). */
  readonly disposedAt: number;
}

/** A posting row with only the start of its ids (enough to decode the first id). */
export interface PostingHead {
  readonly token: Buffer;
  readonly block: number;
  readonly n: number;
  readonly head: Buffer;
}

/** Bytes of a posting row's ids read to decode its first id (a varint of at most 8 bytes). */
export const POSTING_HEAD_BYTES = 10;

/** Disposition plans, approvals, progress and bulk deletions of one organisation. */
export interface DispositionStore {
  /** Stores a new plan with the leaf indexes held when it was made; false when the id exists. */
  putPlan(orgId: OrgId, plan: PlanRecord, held: ReadonlyMap<string, readonly number[]>): Promise<boolean>;
  /** The plan, or undefined (also for another org's plan id). */
  plan(orgId: OrgId, planId: string): Promise<PlanRecord | undefined>;
  /** The leaf indexes of `bucketId` held when the plan was made, ascending. */
  planHeld(orgId: OrgId, planId: string, bucketId: string): Promise<number[]>;
  /** Stores an approval unless the officer already approved; false when one was stored already. */
  putApproval(orgId: OrgId, planId: string, a: ApprovalRecord): Promise<boolean>;
  /** The plan's approvals by officer index. */
  approvals(orgId: OrgId, planId: string): Promise<ApprovalRecord[]>;
  /** Moves the plan from `from` to `to`; false when it was not in `from` (compare-and-set). */
  setState(orgId: OrgId, planId: string, from: PlanState, to: PlanState): Promise<boolean>;
  /** Closes an executing plan with its certificate; false when it was not executing. */
  finish(
    orgId: OrgId,
    planId: string,
    done: { certificate: Buffer; logIndex: number | null; by: DeviceId; at: number },
  ): Promise<boolean>;
  /** Creates missing progress rows (step `postings`) for these buckets. */
  initProgress(orgId: OrgId, planId: string, bucketIds: readonly string[]): Promise<void>;
  /** The plan's progress rows by bucket id. */
  progress(orgId: OrgId, planId: string): Promise<BucketProgress[]>;
  /** Replaces a bucket's progress if it still equals `from` (compare-and-set). */
  advance(orgId: OrgId, planId: string, from: BucketProgress, to: BucketProgress): Promise<boolean>;
  /** Buckets whose keys a disposition destroyed. */
  disposedBuckets(orgId: OrgId): Promise<Set<string>>;
  /** Whether a disposition destroyed the keys of any bucket of the org (one read of the key's prefix). */
  anyDisposed(orgId: OrgId): Promise<boolean>;
  /** Records that a plan destroyed the bucket's keys (idempotent). */
  markDisposed(orgId: OrgId, bucketId: string, planId: string, at: number): Promise<void>;
  /** The disposals of those of `bucketIds` that were disposed of, by bucket id (one indexed lookup). */
  disposals(orgId: OrgId, bucketIds: readonly string[]): Promise<Map<string, BucketDisposal>>;
  /**
   * PostgreSQL: locks the bucket exclusively until the transaction ends, waiting for every
   * ingest that holds it shared (ArchiveStore.lockDevices) to end. SQLite has one writer:
   * no-op. MUST run inside a transaction, before checking that no record of the bucket remains.
   */
  lockBucket(orgId: OrgId, bucketId: string): Promise<void>;

  /** Leaf indexes of the bucket's records above `after`, ascending, at most `limit`. */
  bucketLeaves(orgId: OrgId, bucketId: string, after: number, limit: number): Promise<number[]>;
  /** The same with the facts holds are decided on. */
  bucketRecords(orgId: OrgId, bucketId: string, after: number, limit: number): Promise<BucketRecordFacts[]>;
  /** Whether any record of the bucket remains. */
  bucketHasRecords(orgId: OrgId, bucketId: string): Promise<boolean>;
  /**
   * Deletes the bucket's records (with their indexed-record rows and blob references) with leaf
   * index in [lo, hi]; resolves to the records deleted.
   */
  deleteRecords(orgId: OrgId, bucketId: string, lo: number, hi: number): Promise<number>;
  /** The start of the last posting block at or below `index`, or null. */
  blockAtOrBelow(orgId: OrgId, index: number): Promise<number | null>;
  /** Posting rows with block in (afterBlock, toBlock], by block then token, at most `limit`; ids cut to their head. */
  postingHeads(orgId: OrgId, afterBlock: number, toBlock: number, limit: number): Promise<PostingHead[]>;
  /** The full ids of one posting row, or undefined. */
  postingIds(orgId: OrgId, token: Buffer, block: number): Promise<Buffer | undefined>;
  /** Deletes posting rows. */
  deletePostings(orgId: OrgId, rows: readonly { token: Buffer; block: number }[]): Promise<void>;
  /** Deletes the bucket's officer wraps (root included) and sealed index keys; resolves to how many. */
  deleteKeyBlobs(orgId: OrgId, bucketId: string): Promise<number>;
  /** Wrapped session keys after `after` (hex key id; '' first), by key id, at most `limit`. */
  sessionKeys(
    orgId: OrgId,
    after: Buffer | null,
    limit: number,
  ): Promise<{ keyId: Buffer; wrapped: Buffer }[]>;
  /** Deletes wrapped session keys. */
  deleteSessionKeys(orgId: OrgId, keyIds: readonly Buffer[]): Promise<void>;
}

interface PlanRow {
  plan_id: unknown;
  plan: unknown;
  state: unknown;
  created_by: unknown;
  created_at: unknown;
  certificate: unknown;
  certificate_log_index: unknown;
  executed_by: unknown;
  executed_at: unknown;
}

function planOf(r: PlanRow): PlanRecord {
  const state = text(r.state);
  if (state !== 'proposed' && state !== 'executing' && state !== 'executed')
    throw new Error('bad plan state');
  return {
    planId: text(r.plan_id),
    plan: bytes(r.plan),
    state,
    createdBy: text(r.created_by) as DeviceId,
    createdAt: int(r.created_at),
    certificate: r.certificate === null ? null : bytes(r.certificate),
    certificateLogIndex: intOrNull(r.certificate_log_index),
    executedBy: r.executed_by === null ? null : (text(r.executed_by) as DeviceId),
    executedAt: intOrNull(r.executed_at),
  };
}

interface ProgressRow {
  bucket_id: unknown;
  step: unknown;
  cursor: unknown;
  disposed: unknown;
  held: unknown;
  keys_destroyed: unknown;
}

function progressOf(r: ProgressRow): BucketProgress {
  const step = text(r.step) as BucketStep;
  if (!BUCKET_STEPS.includes(step)) throw new Error('bad disposition step');
  return {
    bucketId: text(r.bucket_id),
    step,
    cursor: int(r.cursor),
    disposed: int(r.disposed),
    held: int(r.held),
    keysDestroyed: int(r.keys_destroyed) === 1,
  };
}

/** Uint64 big-endian list, the storage form of held leaf indexes. */
function packIndexes(list: readonly number[]): Buffer {
  const b = Buffer.alloc(list.length * 8);
  list.forEach((v, i) => b.writeBigUInt64BE(BigInt(v), i * 8));
  return b;
}

function unpackIndexes(b: Buffer): number[] {
  const out: number[] = [];
  for (let o = 0; o + 8 <= b.length; o += 8) out.push(Number(b.readBigUInt64BE(o)));
  return out;
}

/** DispositionStore over SQL. */
export class SqlDispositionStore implements DispositionStore {
  constructor(private readonly db: SqlExecutor) {}

  async putPlan(orgId: OrgId, p: PlanRecord, held: ReadonlyMap<string, readonly number[]>): Promise<boolean> {
    const n = await this.db.run(sql`INSERT INTO disposition_plans (org_id, plan_id, plan, state, created_by,
      created_at) VALUES (${orgId}, ${p.planId}, ${p.plan}, ${p.state}, ${p.createdBy}, ${p.createdAt})
      ON CONFLICT (org_id, plan_id) DO NOTHING`);
    if (n !== 1) return false;
    const rows = [...held].map(([bucketId, list]) => [orgId, p.planId, bucketId, packIndexes(list)] as const);
    await insertAll(this.db, 'INSERT INTO disposition_held (org_id, plan_id, bucket_id, leaves)', rows);
    return true;
  }

  async plan(orgId: OrgId, planId: string): Promise<PlanRecord | undefined> {
    const row = await this.db.get<PlanRow>(
      sql`SELECT * FROM disposition_plans WHERE org_id = ${orgId} AND plan_id = ${planId}`,
    );
    return row === undefined ? undefined : planOf(row);
  }

  async planHeld(orgId: OrgId, planId: string, bucketId: string): Promise<number[]> {
    const row = await this.db.get<{ leaves: unknown }>(
      sql`SELECT leaves FROM disposition_held WHERE org_id = ${orgId} AND plan_id = ${planId}
        AND bucket_id = ${bucketId}`,
    );
    return row === undefined ? [] : unpackIndexes(bytes(row.leaves));
  }

  async putApproval(orgId: OrgId, planId: string, a: ApprovalRecord): Promise<boolean> {
    const n = await this.db
      .run(sql`INSERT INTO disposition_approvals (org_id, plan_id, officer_index, signature,
      device_id, approved_at) VALUES (${orgId}, ${planId}, ${a.officerIndex}, ${asBuffer(a.signature)},
      ${a.deviceId}, ${a.at}) ON CONFLICT (org_id, plan_id, officer_index) DO NOTHING`);
    return n === 1;
  }

  async approvals(orgId: OrgId, planId: string): Promise<ApprovalRecord[]> {
    const rows = await this.db.all<{
      officer_index: unknown;
      signature: unknown;
      device_id: unknown;
      approved_at: unknown;
    }>(sql`SELECT officer_index, signature, device_id, approved_at FROM disposition_approvals
      WHERE org_id = ${orgId} AND plan_id = ${planId} ORDER BY officer_index`);
    return rows.map((r) => ({
      officerIndex: int(r.officer_index),
      signature: bytes(r.signature),
      deviceId: text(r.device_id) as DeviceId,
      at: int(r.approved_at),
    }));
  }

  async setState(orgId: OrgId, planId: string, from: PlanState, to: PlanState): Promise<boolean> {
    const n = await this.db.run(sql`UPDATE disposition_plans SET state = ${to}
      WHERE org_id = ${orgId} AND plan_id = ${planId} AND state = ${from}`);
    return n === 1;
  }

  async finish(
    orgId: OrgId,
    planId: string,
    d: { certificate: Buffer; logIndex: number | null; by: DeviceId; at: number },
  ): Promise<boolean> {
    const n = await this.db.run(sql`UPDATE disposition_plans SET state = 'executed',
      certificate = ${d.certificate}, certificate_log_index = ${d.logIndex}, executed_by = ${d.by},
      executed_at = ${d.at} WHERE org_id = ${orgId} AND plan_id = ${planId} AND state = 'executing'`);
    return n === 1;
  }

  async initProgress(orgId: OrgId, planId: string, bucketIds: readonly string[]): Promise<void> {
    await insertAll(
      this.db,
      'INSERT INTO disposition_progress (org_id, plan_id, bucket_id, step, cursor, disposed, held, keys_destroyed)',
      bucketIds.map((b) => [orgId, planId, b, 'postings', -1, 0, 0, 0] as const),
      ' ON CONFLICT (org_id, plan_id, bucket_id) DO NOTHING',
    );
  }

  async progress(orgId: OrgId, planId: string): Promise<BucketProgress[]> {
    const rows = await this.db.all<ProgressRow>(sql`SELECT bucket_id, step, cursor, disposed, held,
      keys_destroyed FROM disposition_progress WHERE org_id = ${orgId} AND plan_id = ${planId} ORDER BY bucket_id`);
    return rows.map(progressOf);
  }

  async advance(orgId: OrgId, planId: string, from: BucketProgress, to: BucketProgress): Promise<boolean> {
    const n = await this.db.run(sql`UPDATE disposition_progress SET step = ${to.step}, cursor = ${to.cursor},
      disposed = ${to.disposed}, held = ${to.held}, keys_destroyed = ${to.keysDestroyed ? 1 : 0}
      WHERE org_id = ${orgId} AND plan_id = ${planId} AND bucket_id = ${from.bucketId}
      AND step = ${from.step} AND cursor = ${from.cursor} AND disposed = ${from.disposed}`);
    return n === 1;
  }

  async disposedBuckets(orgId: OrgId): Promise<Set<string>> {
    const rows = await this.db.all<{ bucket_id: unknown }>(
      sql`SELECT bucket_id FROM disposed_buckets WHERE org_id = ${orgId}`,
    );
    return new Set(rows.map((r) => text(r.bucket_id)));
  }

  async anyDisposed(orgId: OrgId): Promise<boolean> {
    const row = await this.db.get(sql`SELECT 1 AS one FROM disposed_buckets WHERE org_id = ${orgId} LIMIT 1`);
    return row !== undefined;
  }

  async markDisposed(orgId: OrgId, bucketId: string, planId: string, at: number): Promise<void> {
    await this.db.run(sql`INSERT INTO disposed_buckets (org_id, bucket_id, plan_id, disposed_at)
      VALUES (${orgId}, ${bucketId}, ${planId}, ${at}) ON CONFLICT (org_id, bucket_id) DO NOTHING`);
  }

  async disposals(orgId: OrgId, bucketIds: readonly string[]): Promise<Map<string, BucketDisposal>> {
    const rows = await allIn<{ bucket_id: unknown; plan_id: unknown; disposed_at: unknown }>(
      this.db,
      sql`SELECT bucket_id, plan_id, disposed_at FROM disposed_buckets WHERE org_id = ${orgId} AND bucket_id IN`,
      bucketIds,
    );
    return new Map(
      rows.map((r) => {
        const d = { bucketId: text(r.bucket_id), planId: text(r.plan_id), disposedAt: int(r.disposed_at) };
        return [d.bucketId, d];
      }),
    );
  }

  async lockBucket(orgId: OrgId, bucketId: string): Promise<void> {
    if (this.db.dialect === 'sqlite') return;
    await this.db.get(
      sql`SELECT pg_advisory_xact_lock(${PG_BUCKET_LOCK_CLASS}, hashtext(${`${orgId}/${bucketId}`}))`,
    );
  }

  async bucketLeaves(orgId: OrgId, bucketId: string, after: number, limit: number): Promise<number[]> {
    const rows = await this.db.all<{ log_index: unknown }>(sql`SELECT log_index FROM archive_records
      WHERE org_id = ${orgId} AND bucket_id = ${bucketId} AND log_index > ${after}
      ORDER BY log_index LIMIT ${limit}`);
    return rows.map((r) => int(r.log_index));
  }

  async bucketRecords(
    orgId: OrgId,
    bucketId: string,
    after: number,
    limit: number,
  ): Promise<BucketRecordFacts[]> {
    const rows = await this.db.all<{ device_id: unknown; log_index: unknown; received_at: unknown }>(
      sql`SELECT device_id, log_index, received_at FROM archive_records
        WHERE org_id = ${orgId} AND bucket_id = ${bucketId} AND log_index > ${after}
        ORDER BY log_index LIMIT ${limit}`,
    );
    return rows.map((r) => ({
      deviceId: text(r.device_id) as DeviceId,
      logIndex: int(r.log_index),
      receivedAt: int(r.received_at),
    }));
  }

  async bucketHasRecords(orgId: OrgId, bucketId: string): Promise<boolean> {
    const row = await this.db.get(
      sql`SELECT 1 AS x FROM archive_records WHERE org_id = ${orgId} AND bucket_id = ${bucketId} LIMIT 1`,
    );
    return row !== undefined;
  }

  async deleteRecords(orgId: OrgId, bucketId: string, lo: number, hi: number): Promise<number> {
    // The records' blob references go with them, so the blob sweep may take those blobs.
    await this.db.run(sql`DELETE FROM archive_blob_refs WHERE org_id = ${orgId} AND bucket_id = ${bucketId}
      AND log_index >= ${lo} AND log_index <= ${hi}`);
    await this.db.run(sql`DELETE FROM search_records WHERE org_id = ${orgId} AND log_index >= ${lo}
      AND log_index <= ${hi} AND bucket_id = ${bucketId}`);
    return this.db.run(sql`DELETE FROM archive_records WHERE org_id = ${orgId} AND bucket_id = ${bucketId}
      AND log_index >= ${lo} AND log_index <= ${hi}`);
  }

  async blockAtOrBelow(orgId: OrgId, index: number): Promise<number | null> {
    const row = await this.db.get<{ b: unknown }>(
      sql`SELECT MAX(block) AS b FROM search_postings WHERE org_id = ${orgId} AND block <= ${index}`,
    );
    return row === undefined ? null : intOrNull(row.b);
  }

  async postingHeads(
    orgId: OrgId,
    afterBlock: number,
    toBlock: number,
    limit: number,
  ): Promise<PostingHead[]> {
    const q =
      this.db.dialect === 'sqlite'
        ? sql`SELECT token, block, n, substr(ids, 1, ${POSTING_HEAD_BYTES}) AS head FROM search_postings
            WHERE org_id = ${orgId} AND block > ${afterBlock} AND block <= ${toBlock}
            ORDER BY block, token LIMIT ${limit}`
        : sql`SELECT token, block, n, substring(ids FROM 1 FOR ${POSTING_HEAD_BYTES}) AS head FROM search_postings
            WHERE org_id = ${orgId} AND block > ${afterBlock} AND block <= ${toBlock}
            ORDER BY block, token LIMIT ${limit}`;
    const rows = await this.db.all<{ token: unknown; block: unknown; n: unknown; head: unknown }>(q);
    return rows.map((r) => ({
      token: bytes(r.token),
      block: int(r.block),
      n: int(r.n),
      head: bytes(r.head),
    }));
  }

  async postingIds(orgId: OrgId, token: Buffer, block: number): Promise<Buffer | undefined> {
    const row = await this.db.get<{ ids: unknown }>(sql`SELECT ids FROM search_postings
      WHERE org_id = ${orgId} AND token = ${token} AND block = ${block}`);
    return row === undefined ? undefined : bytes(row.ids);
  }

  async deletePostings(orgId: OrgId, rows: readonly { token: Buffer; block: number }[]): Promise<void> {
    // Grouped by block: one IN list of tokens per block (a chunk's rows share few blocks).
    const byBlock = new Map<number, Buffer[]>();
    for (const r of rows) byBlock.set(r.block, [...(byBlock.get(r.block) ?? []), r.token]);
    for (const [block, tokens] of byBlock) {
      await allIn(
        this.db,
        sql`DELETE FROM search_postings WHERE org_id = ${orgId} AND block = ${block} AND token IN`,
        tokens,
        ' RETURNING block',
      );
    }
  }

  async deleteKeyBlobs(orgId: OrgId, bucketId: string): Promise<number> {
    return this.db.run(sql`DELETE FROM bucket_key_blobs WHERE org_id = ${orgId} AND bucket_id = ${bucketId}`);
  }

  async sessionKeys(
    orgId: OrgId,
    after: Buffer | null,
    limit: number,
  ): Promise<{ keyId: Buffer; wrapped: Buffer }[]> {
    const rows = await this.db.all<{ key_id: unknown; wrapped: unknown }>(sql`SELECT key_id, wrapped
      FROM archive_session_keys WHERE org_id = ${orgId} AND key_id > ${after ?? Buffer.alloc(0)}
      ORDER BY key_id LIMIT ${limit}`);
    return rows.map((r) => ({ keyId: bytes(r.key_id), wrapped: bytes(r.wrapped) }));
  }

  async deleteSessionKeys(orgId: OrgId, keyIds: readonly Buffer[]): Promise<void> {
    if (keyIds.length === 0) return;
    await allIn(
      this.db,
      sql`DELETE FROM archive_session_keys WHERE org_id = ${orgId} AND key_id IN`,
      keyIds,
      ' RETURNING key_id',
    );
  }
}
