/**
 * Blob metadata and quota over SQL, content through a BlobContentStore. Content is written
 * first and named by its hash, so a crash between the two steps leaves at most an unnamed
 * file or row (never served: downloads go through `find`), and a retry of the upload reuses it.
 *
 * Quota: `blob_usage` holds each organisation's running total; the charge is one conditional
 * upsert, so concurrent uploads on PostgreSQL cannot together pass the limit.
 */
import type { OrgId } from '../ids.js';
import type { BlobAddOutcome, BlobId, BlobRecord, Usage } from './messaging-records.js';
import type { BlobContentStore, BlobStore } from './messaging-stores.js';
import { int } from './row-checks.js';
import { sql, type SqlExecutor } from './sql.js';

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
    const inserted = await this.db.run(sql`INSERT INTO blobs (org_id, blob_id, size, uploaded_by, created_at)
      VALUES (${orgId}, ${b.blobId}, ${b.size}, ${b.uploadedBy}, ${b.createdAt}) ON CONFLICT DO NOTHING`);
    if (inserted === 0) return 'exists';
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
}
