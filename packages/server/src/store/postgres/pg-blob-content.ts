/**
 * Blob content in PostgreSQL as BYTEA rows (`blob_contents`), so API nodes sharing one
 * database share the blobs with no extra storage service. BYTEA rather than large objects:
 * blobs are bounded (the upload limit), rows are covered by ordinary backups and
 * replication, and there is no separate unlink to forget. The write commits before the
 * upload is acknowledged.
 */
import type { BlobId } from '../messaging-records.js';
import type { BlobContentStore } from '../messaging-stores.js';
import { bytes } from '../row-checks.js';
import { sql, type SqlExecutor } from '../sql.js';

/** BlobContentStore in a SQL table. */
export class SqlBlobContentStore implements BlobContentStore {
  constructor(private readonly db: SqlExecutor) {}

  async put(blobId: BlobId, content: Buffer): Promise<void> {
    await this.db.run(
      sql`INSERT INTO blob_contents (blob_id, content) VALUES (${blobId}, ${content}) ON CONFLICT DO NOTHING`,
    );
  }

  async get(blobId: BlobId): Promise<Buffer | undefined> {
    const row = await this.db.get<{ content: unknown }>(
      sql`SELECT content FROM blob_contents WHERE blob_id = ${blobId}`,
    );
    return row === undefined ? undefined : bytes(row.content);
  }

  async hold(blobId: BlobId, forRemoval: boolean): Promise<boolean> {
    const row = await this.db.get(
      forRemoval
        ? sql`SELECT 1 AS x FROM blob_contents WHERE blob_id = ${blobId} FOR UPDATE`
        : sql`SELECT 1 AS x FROM blob_contents WHERE blob_id = ${blobId} FOR SHARE`,
    );
    return row !== undefined;
  }

  async remove(blobId: BlobId): Promise<void> {
    await this.db.run(sql`DELETE FROM blob_contents WHERE blob_id = ${blobId}`);
  }
}
