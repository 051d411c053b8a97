/** Named defaults of archive ingest (style.md §9). */

/** Most records in one uploaded batch (core allows 10,000 per signature; uploads stay smaller). */
export const MAX_RECORDS_PER_UPLOAD = 1000;
/** Most wrapped session keys in one upload (a device starts a new session key rarely). */
export const MAX_SESSION_KEYS_PER_UPLOAD = 16;
/** Body limit of the batch upload: 1,000 records of ~5 KiB in base64 JSON, or a few large ones. */
export const ARCHIVE_BATCH_BODY_LIMIT_BYTES = 8 * 1024 * 1024;
/**
 * Records sealed to a bucket are still accepted this long after its window ends (core's rule:
 * devices check a server's disposal claims against the same grace).
 */
export { BUCKET_LATE_UPLOAD_GRACE_MS } from '@custos/core';
/** Records per group commit: batches queued while a commit runs are written together, up to this. */
export const MAX_RECORDS_PER_GROUP_COMMIT = 5000;
/** Group commits under way at once on PostgreSQL (the next group's reads and locks overlap the last one's writes). */
export const PG_GROUP_COMMITS_IN_FLIGHT = 2;
