/**
 * Blob metadata and quota over SQL, content through a BlobContentStore. Content is written
 * first and named by its hash, so a crash between the two steps leaves at most an unnamed
 * file or row (never served: downloads go through `find`), and a retry of the upload reuses it.
 *
 * Quota: `blob_usage` holds each organisation's running total; the charge is one conditional
 * upsert, so concurrent uploads on PostgreSQL cannot together pass the limit.
 *
 * Lifetime (docs/operations.md, "Blobs"): archive records' references (`archive_blob_refs`)
 * keep a blob; the sweep deletes one that no record lists, whose every upload is older than
 * the relay's expiry plus the archive's grace, and which no record of an older client (one
 * that does not list its attachments) could reference. Lock order, so that none of them
 * deletes what another just counted on: an upload holds the content shared, then writes
 * its row; the sweep locks the rows, deletes them, and in a later transaction holds the
 * content exclusively and removes it only if no row came back; ingest holds the rows
 * shared while it writes its references. (SQLite runs one transaction at a time.)
 */
import type { OrgId } from '../ids.js';
import { insertAll } from './log-stores.js';
import type {
  BlobAddOutcome,
  BlobId,
  BlobRecord,
  BlobReference,
  BlobSweepLimits,
  Usage,
} from './messaging-records.js';
import type { BlobContentStore, BlobStore } from './messaging-stores.js';
import { int, text } from './row-checks.js';
import { allIn, sql, type SqlExecutor } from './sql.js';

/** BlobStore over SQL metadata and a content store. */
export class SqlBlobStore implements BlobStore {
  constructor(
    private readonly db: SqlExecutor,
    private readonly content: BlobContentStore,
  ) {}

  putContent(blobId: BlobId, content: Buffer): Promise<void> {
    return this.content.put(blobId, content);
  }

  readContent(blobId: BlobId): Promise<Buffer | undefined> {
    return this.content.get(blobId);
  }

  async add(orgId: OrgId, b: BlobRecord, quotaBytes: number): Promise<BlobAddOutcome> {
    if (!(await this.content.hold(b.blobId, false))) return 'content-missing';
    // At most twice round: a row the sweep took between the insert and the update is inserted again.
    for (let attempt = 0; ; attempt++) {
      const inserted = await this.db
        .run(sql`INSERT INTO blobs (org_id, blob_id, size, uploaded_by, created_at)
        VALUES (${orgId}, ${b.blobId}, ${b.size}, ${b.uploadedBy}, ${b.createdAt}) ON CONFLICT DO NOTHING`);
      if (inserted > 0) break;
      // Uploaded again by this org: the blob's lifetime counts from its last upload (the sweep
      // takes a blob only when every upload of it is old). The update waits for a sweep holding
      // the row (PostgreSQL); when the sweep deleted it, nothing is updated and the loop inserts.
      const refreshed = await this.db.get<{ one: unknown }>(sql`UPDATE blobs
        SET created_at = CASE WHEN created_at < ${b.createdAt} THEN ${b.createdAt} ELSE created_at END
        WHERE org_id = ${orgId} AND blob_id = ${b.blobId} RETURNING 1 AS one`);
      if (refreshed !== undefined || attempt >= 2) return 'exists';
    }
    const charged = await this.db.get<{ bytes: unknown }>(sql`INSERT INTO blob_usage (org_id, count, bytes)
      SELECT ${orgId}, 1, ${b.size} WHERE CAST(${b.size} AS BIGINT) <= CAST(${quotaBytes} AS BIGINT)
      ON CONFLICT (org_id) DO UPDATE SET count = blob_usage.count + 1, bytes = blob_usage.bytes + excluded.bytes
      WHERE blob_usage.bytes + excluded.bytes <= ${quotaBytes}
      RETURNING bytes`);
    if (charged !== undefined) return 'added';
    // (The casts stop PostgreSQL comparing two untyped parameters as text.)
    // Refused by the quota: take the row back so that nothing changed.
    await this.db.run(sql`DELETE FROM blobs WHERE org_id = ${orgId} AND blob_id = ${b.blobId}`);
    return 'over-quota';
  }

  async find(blobId: BlobId): Promise<{ readonly size: number } | undefined> {
    const row = await this.db.get<{ size: unknown }>(
      sql`SELECT size FROM blobs WHERE blob_id = ${blobId} LIMIT 1`,
    );
    return row === undefined ? undefined : { size: int(row.size) };
  }

  async usage(orgId: OrgId): Promise<Usage> {
    const row = await this.db.get<{ count: unknown; bytes: unknown }>(
      sql`SELECT count, bytes FROM blob_usage WHERE org_id = ${orgId}`,
    );
    return row === undefined ? { count: 0, bytes: 0 } : { count: int(row.count), bytes: int(row.bytes) };
  }

  async putReferences(orgId: OrgId, refs: readonly BlobReference[]): Promise<void> {
    if (refs.length === 0) return;
    if (this.db.dialect === 'postgres') {
      // Shared row locks: a sweep that has read no reference yet waits for this commit.
      await allIn(
        this.db,
        sql`SELECT 1 AS x FROM blobs WHERE blob_id IN`,
        refs.map((r) => r.blobId),
        ' FOR SHARE',
      );
    }
    await insertAll(
      this.db,
      'INSERT INTO archive_blob_refs (org_id, log_index, blob_id, bucket_id)',
      refs.map((r) => [orgId, r.logIndex, r.blobId, r.bucketId] as const),
      ' ON CONFLICT DO NOTHING',
    );
  }

  async noteUnlistedReferences(now: number): Promise<void> {
    await this.db.run(sql`UPDATE blob_sweep_state SET unlisted_through = ${now}
      WHERE id = 1 AND unlisted_through < ${now}`);
  }

  async sweepCandidates(limits: BlobSweepLimits, limit: number): Promise<BlobId[]> {
    const rows = await this.db.all<{ blob_id: unknown }>(sql`SELECT b.blob_id FROM blobs b
      GROUP BY b.blob_id
      HAVING MAX(b.created_at) < ${limits.uploadedBefore}
        AND MIN(b.created_at) > (SELECT unlisted_through FROM blob_sweep_state WHERE id = 1) + ${limits.unlistedMarginMs}
        AND NOT EXISTS (SELECT 1 FROM archive_blob_refs r WHERE r.blob_id = b.blob_id)
      ORDER BY b.blob_id LIMIT ${limit}`);
    return rows.map((r) => text(r.blob_id) as BlobId);
  }

  async sweepRows(blobId: BlobId, limits: BlobSweepLimits): Promise<boolean> {
    const rows = await this.db.all<{ org_id: unknown; size: unknown; created_at: unknown }>(
      this.db.dialect === 'postgres'
        ? sql`SELECT org_id, size, created_at FROM blobs WHERE blob_id = ${blobId} FOR UPDATE`
        : sql`SELECT org_id, size, created_at FROM blobs WHERE blob_id = ${blobId}`,
    );
    if (rows.length === 0) return false;
    // Read again now that the rows are locked (a fresh snapshot on PostgreSQL): a reference
    // committed meanwhile, a newer upload or a newer unlisted record keeps the blob.
    const created = rows.map((r) => int(r.created_at));
    if (Math.max(...created) >= limits.uploadedBefore) return false;
    const state = await this.db.get<{ unlisted_through: unknown }>(
      sql`SELECT unlisted_through FROM blob_sweep_state WHERE id = 1`,
    );
    if (state === undefined || Math.min(...created) <= int(state.unlisted_through) + limits.unlistedMarginMs)
      return false;
    const ref = await this.db.get(
      sql`SELECT 1 AS x FROM archive_blob_refs WHERE blob_id = ${blobId} LIMIT 1`,
    );
    if (ref !== undefined) return false;
    for (const r of rows) {
      const orgId = text(r.org_id);
      await this.db.run(sql`DELETE FROM blobs WHERE org_id = ${orgId} AND blob_id = ${blobId}`);
      await this.db.run(sql`UPDATE blob_usage SET count = count - 1, bytes = bytes - ${int(r.size)}
        WHERE org_id = ${orgId}`);
    }
    return true;
  }

  async removeUnusedContent(blobId: BlobId): Promise<boolean> {
    if (!(await this.content.hold(blobId, true))) return false;
    if ((await this.find(blobId)) !== undefined) return false;
    await this.content.remove(blobId);
    return true;
  }
}
