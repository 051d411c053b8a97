/**
 * Key distribution: bucket public keys (with the key manager's signed document), bucket
 * private keys wrapped for officers, and blind-index keys sealed to devices. The server
 * cannot open any of them; it stores and serves them to the right caller only.
 */
import type { DeviceId, OrgId } from '../ids.js';
import { asBuffer } from './log-stores.js';
import { bytes, int, text } from './row-checks.js';
import { sql, type SqlExecutor } from './sql.js';

/** A registered bucket public key. */
export interface BucketRecord {
  readonly bucketId: string;
  readonly retentionClass: string;
  readonly period: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** Raw 32-byte X25519 public key. */
  readonly publicKey: Buffer;
  /** The key manager's signed bucket-key document, verbatim (docs/keys.md). */
  readonly document: Buffer;
  readonly registeredBy: DeviceId;
  readonly registeredAt: number;
  readonly logIndex: number;
}

/** An opaque blob stored for a bucket and a recipient (an officer wrap or a device's index key). */
export interface KeyBlobRecord {
  readonly bucketId: string;
  /** Officer wraps: the officer index as text; index keys: the device id. */
  readonly recipient: string;
  readonly blob: Buffer;
  readonly createdBy: DeviceId;
  readonly createdAt: number;
  readonly logIndex: number;
}

/** The two kinds of opaque key blobs. */
export type KeyBlobKind = 'officer-wrap' | 'index-key';

/** Bucket keys of one organisation. */
export interface BucketStore {
  /** Stores a bucket; false when the id is taken (nothing written). */
  create(orgId: OrgId, bucket: BucketRecord): Promise<boolean>;
  /** The bucket, or undefined. */
  get(orgId: OrgId, bucketId: string): Promise<BucketRecord | undefined>;
  /** Buckets ordered by id, after `after` (exclusive). */
  list(orgId: OrgId, after: string | null, limit: number): Promise<BucketRecord[]>;
  /** Stores or replaces the blob of (kind, bucket, recipient). */
  putBlob(orgId: OrgId, kind: KeyBlobKind, rec: KeyBlobRecord): Promise<void>;
  /** Blobs of one kind for a bucket (every recipient), ordered by recipient. */
  blobsForBucket(orgId: OrgId, kind: KeyBlobKind, bucketId: string): Promise<KeyBlobRecord[]>;
  /** Blobs of one kind for a recipient (every bucket), ordered by bucket. */
  blobsForRecipient(orgId: OrgId, kind: KeyBlobKind, recipient: string): Promise<KeyBlobRecord[]>;
}

interface BucketRow {
  bucket_id: unknown;
  retention_class: unknown;
  period: unknown;
  not_before: unknown;
  not_after: unknown;
  public_key: unknown;
  document: unknown;
  registered_by: unknown;
  registered_at: unknown;
  log_index: unknown;
}

function bucketOf(r: BucketRow): BucketRecord {
  return {
    bucketId: text(r.bucket_id),
    retentionClass: text(r.retention_class),
    period: text(r.period),
    notBefore: int(r.not_before),
    notAfter: int(r.not_after),
    publicKey: bytes(r.public_key),
    document: bytes(r.document),
    registeredBy: text(r.registered_by) as DeviceId,
    registeredAt: int(r.registered_at),
    logIndex: int(r.log_index),
  };
}

interface BlobRow {
  bucket_id: unknown;
  recipient: unknown;
  blob: unknown;
  created_by: unknown;
  created_at: unknown;
  log_index: unknown;
}

function blobOf(r: BlobRow): KeyBlobRecord {
  return {
    bucketId: text(r.bucket_id),
    recipient: text(r.recipient),
    blob: bytes(r.blob),
    createdBy: text(r.created_by) as DeviceId,
    createdAt: int(r.created_at),
    logIndex: int(r.log_index),
  };
}

/** BucketStore over SQL. */
export class SqlBucketStore implements BucketStore {
  constructor(private readonly db: SqlExecutor) {}

  async create(orgId: OrgId, b: BucketRecord): Promise<boolean> {
    const n = await this.db
      .run(sql`INSERT INTO buckets (org_id, bucket_id, retention_class, period, not_before,
      not_after, public_key, document, registered_by, registered_at, log_index)
      VALUES (${orgId}, ${b.bucketId}, ${b.retentionClass}, ${b.period}, ${b.notBefore}, ${b.notAfter},
      ${b.publicKey}, ${b.document}, ${b.registeredBy}, ${b.registeredAt}, ${b.logIndex})
      ON CONFLICT (org_id, bucket_id) DO NOTHING`);
    return n === 1;
  }

  async get(orgId: OrgId, bucketId: string): Promise<BucketRecord | undefined> {
    const row = await this.db.get<BucketRow>(
      sql`SELECT * FROM buckets WHERE org_id = ${orgId} AND bucket_id = ${bucketId}`,
    );
    return row === undefined ? undefined : bucketOf(row);
  }

  async list(orgId: OrgId, after: string | null, limit: number): Promise<BucketRecord[]> {
    const rows = await this.db.all<BucketRow>(
      sql`SELECT * FROM buckets WHERE org_id = ${orgId} AND bucket_id > ${after ?? ''}
        ORDER BY bucket_id LIMIT ${limit}`,
    );
    return rows.map(bucketOf);
  }

  async putBlob(orgId: OrgId, kind: KeyBlobKind, r: KeyBlobRecord): Promise<void> {
    await this.db.run(sql`INSERT INTO bucket_key_blobs (org_id, kind, bucket_id, recipient, blob, created_by,
      created_at, log_index) VALUES (${orgId}, ${kind}, ${r.bucketId}, ${r.recipient}, ${asBuffer(r.blob)},
      ${r.createdBy}, ${r.createdAt}, ${r.logIndex})
      ON CONFLICT (org_id, kind, bucket_id, recipient) DO UPDATE SET blob = excluded.blob,
      created_by = excluded.created_by, created_at = excluded.created_at, log_index = excluded.log_index`);
  }

  async blobsForBucket(orgId: OrgId, kind: KeyBlobKind, bucketId: string): Promise<KeyBlobRecord[]> {
    const rows = await this.db.all<BlobRow>(
      sql`SELECT bucket_id, recipient, blob, created_by, created_at, log_index FROM bucket_key_blobs
        WHERE org_id = ${orgId} AND kind = ${kind} AND bucket_id = ${bucketId} ORDER BY recipient`,
    );
    return rows.map(blobOf);
  }

  async blobsForRecipient(orgId: OrgId, kind: KeyBlobKind, recipient: string): Promise<KeyBlobRecord[]> {
    const rows = await this.db.all<BlobRow>(
      sql`SELECT bucket_id, recipient, blob, created_by, created_at, log_index FROM bucket_key_blobs
        WHERE org_id = ${orgId} AND kind = ${kind} AND recipient = ${recipient} ORDER BY bucket_id`,
    );
    return rows.map(blobOf);
  }
}
