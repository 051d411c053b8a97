/**
 * Archive records (ciphertext, as uploaded) and the wrapped session keys they are sealed
 * under. Rows are keyed by (org, device, sequence number). A record's hash covers that key
 * (its header names org, device and sequence number), so the same bytes are never stored
 * twice without a separate hash index (migration 7 dropped it: one random page write per
 * ingested record).
 */
import type { DeviceId, OrgId } from '../ids.js';
import { asBuffer, insertAll } from './log-stores.js';
import { bytes, int, text } from './row-checks.js';
import { sql, type SqlExecutor } from './sql.js';

/** A record to store (already checked by ingest). */
export interface NewArchiveRecord {
  readonly deviceId: DeviceId;
  readonly seq: number;
  readonly hash: Uint8Array;
  readonly bucketId: string;
  readonly logIndex: number;
  readonly receivedAt: number;
  readonly bytes: Uint8Array;
}

/** A stored record without its bytes. */
export interface ArchiveRecordRef {
  readonly deviceId: DeviceId;
  readonly seq: number;
  readonly hash: Buffer;
  readonly bucketId: string;
  readonly logIndex: number;
  readonly receivedAt: number;
}

/** Where a device's chain stands: its last stored record. */
export interface ArchiveHead {
  readonly seq: number;
  readonly hash: Buffer;
  readonly logIndex: number;
}

/** A wrapped session key as uploaded by a device. */
export interface NewSessionKey {
  readonly keyId: Uint8Array;
  readonly deviceId: DeviceId;
  readonly wrapped: Uint8Array;
  readonly receivedAt: number;
}

/** Archive records of one organisation. */
export interface ArchiveStore {
  /**
   * PostgreSQL: locks the devices' chains (sorted, so concurrent writers cannot deadlock)
   * until the transaction ends. SQLite has one writer: no-op. MUST run inside a transaction.
   */
  lockDevices(orgId: OrgId, deviceIds: readonly DeviceId[]): Promise<void>;
  /** The device's last stored record, or undefined before its first. */
  head(orgId: OrgId, deviceId: DeviceId): Promise<ArchiveHead | undefined>;
  /** Stored records of the device with sequence numbers in [fromSeq, toSeq], ascending. */
  range(orgId: OrgId, deviceId: DeviceId, fromSeq: number, toSeq: number): Promise<ArchiveRecordRef[]>;
  /** The stored bytes of the device's record `seq`, or undefined. */
  recordBytes(orgId: OrgId, deviceId: DeviceId, seq: number): Promise<Buffer | undefined>;
  /** Inserts records (the caller has checked they are new and chained). */
  insert(orgId: OrgId, records: readonly NewArchiveRecord[]): Promise<void>;
  /** Which of these session key ids are stored. */
  knownSessionKeys(orgId: OrgId, keyIds: readonly Uint8Array[]): Promise<Set<string>>;
  /** Stores wrapped session keys, ignoring ids already present. */
  putSessionKeys(orgId: OrgId, keys: readonly NewSessionKey[]): Promise<void>;
  /** How many records the org has (for tests and reports). */
  count(orgId: OrgId): Promise<number>;
}

/** Arbitrary constant naming the per-device chain advisory locks on PostgreSQL ("arc"). */
const PG_DEVICE_LOCK_CLASS = 0x617263;

interface RefRow {
  device_id: unknown;
  seq: unknown;
  record_hash: unknown;
  bucket_id: unknown;
  log_index: unknown;
  received_at: unknown;
}

function refOf(r: RefRow): ArchiveRecordRef {
  return {
    deviceId: text(r.device_id) as DeviceId,
    seq: int(r.seq),
    hash: bytes(r.record_hash),
    bucketId: text(r.bucket_id),
    logIndex: int(r.log_index),
    receivedAt: int(r.received_at),
  };
}

/** ArchiveStore over SQL. */
export class SqlArchiveStore implements ArchiveStore {
  constructor(private readonly db: SqlExecutor) {}

  async lockDevices(orgId: OrgId, deviceIds: readonly DeviceId[]): Promise<void> {
    if (this.db.dialect === 'sqlite') return;
    for (const d of [...new Set(deviceIds)].sort()) {
      await this.db.get(
        sql`SELECT pg_advisory_xact_lock(${PG_DEVICE_LOCK_CLASS}, hashtext(${`${orgId}/${d}`}))`,
      );
    }
  }

  async head(orgId: OrgId, deviceId: DeviceId): Promise<ArchiveHead | undefined> {
    const row = await this.db.get<{ seq: unknown; record_hash: unknown; log_index: unknown }>(
      sql`SELECT seq, record_hash, log_index FROM archive_records WHERE org_id = ${orgId} AND device_id = ${deviceId}
        ORDER BY seq DESC LIMIT 1`,
    );
    return row === undefined
      ? undefined
      : { seq: int(row.seq), hash: bytes(row.record_hash), logIndex: int(row.log_index) };
  }

  async range(orgId: OrgId, deviceId: DeviceId, fromSeq: number, toSeq: number): Promise<ArchiveRecordRef[]> {
    const rows = await this.db.all<RefRow>(
      sql`SELECT device_id, seq, record_hash, bucket_id, log_index, received_at FROM archive_records
        WHERE org_id = ${orgId} AND device_id = ${deviceId} AND seq >= ${fromSeq} AND seq <= ${toSeq} ORDER BY seq`,
    );
    return rows.map(refOf);
  }

  async recordBytes(orgId: OrgId, deviceId: DeviceId, seq: number): Promise<Buffer | undefined> {
    const row = await this.db.get<{ record: unknown }>(
      sql`SELECT record FROM archive_records WHERE org_id = ${orgId} AND device_id = ${deviceId} AND seq = ${seq}`,
    );
    return row === undefined ? undefined : bytes(row.record);
  }

  async insert(orgId: OrgId, records: readonly NewArchiveRecord[]): Promise<void> {
    const rows = records.map(
      (r) =>
        [
          orgId,
          r.deviceId,
          r.seq,
          asBuffer(r.hash),
          r.bucketId,
          r.logIndex,
          r.receivedAt,
          asBuffer(r.bytes),
        ] as const,
    );
    await insertAll(
      this.db,
      'INSERT INTO archive_records (org_id, device_id, seq, record_hash, bucket_id, log_index, received_at, record)',
      rows,
    );
  }

  async knownSessionKeys(orgId: OrgId, keyIds: readonly Uint8Array[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of keyIds) {
      const row = await this.db.get(
        sql`SELECT 1 AS one FROM archive_session_keys WHERE org_id = ${orgId} AND key_id = ${asBuffer(id)}`,
      );
      if (row !== undefined) out.add(asBuffer(id).toString('hex'));
    }
    return out;
  }

  async putSessionKeys(orgId: OrgId, keys: readonly NewSessionKey[]): Promise<void> {
    const rows = keys.map(
      (k) => [orgId, asBuffer(k.keyId), k.deviceId, asBuffer(k.wrapped), k.receivedAt] as const,
    );
    await insertAll(
      this.db,
      'INSERT INTO archive_session_keys (org_id, key_id, device_id, wrapped, received_at)',
      rows,
      ' ON CONFLICT (org_id, key_id) DO NOTHING',
    );
  }

  async count(orgId: OrgId): Promise<number> {
    const row = await this.db.get<{ n: unknown }>(
      sql`SELECT COUNT(*) AS n FROM archive_records WHERE org_id = ${orgId}`,
    );
    return int(row?.n ?? 0);
  }
}
