/**
 * Archive records (ciphertext, as uploaded) and the wrapped session keys they are sealed
 * under. Rows are keyed by (org, device, sequence number). A record's hash covers that key
 * (its header names org, device and sequence number), so the same bytes are never stored
 * twice without a separate hash index (migration 7 dropped it: one random page write per
 * ingested record).
 */
import type { DeviceId, OrgId } from '../ids.js';
import { asBuffer, insertAll, pgSequenceCtes, SqlLogStore } from './log-stores.js';
import { pgByteaArray, pgInt8Array, pgTextArray } from './postgres/pg-arrays.js';
import { bytes, int, text } from './row-checks.js';
import {
  allIn,
  concatSql,
  inListChunks,
  sql,
  type SqlExecutor,
  type SqlQuery,
  type SqlValue,
} from './sql.js';

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

/** A record to store whose log index is assigned as it is sequenced. */
export type SequencedArchiveRecord = Omit<NewArchiveRecord, 'logIndex'>;

/** A stored record without its bytes. */
export interface ArchiveRecordRef {
  readonly deviceId: DeviceId;
  readonly seq: number;
  readonly hash: Buffer;
  readonly bucketId: string;
  readonly logIndex: number;
  readonly receivedAt: number;
}

/**
 * Where a device's chain stands: its last stored record, or its last gap declaration when
 * that is later (docs/archive-format.md §6.1) — then `seq` is the declared run's last
 * sequence number, `hash` the declared hash the next record links to, and `logIndex` the
 * declaration's archive-gap entry.
 */
export interface ArchiveHead {
  readonly seq: number;
  readonly hash: Buffer;
  readonly logIndex: number;
  /** Whether the head is a gap declaration rather than a stored record. */
  readonly declared: boolean;
}

/** An accepted gap declaration (docs/archive-format.md §6.1), as stored. */
export interface ArchiveGapRow {
  readonly deviceId: DeviceId;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly prevHash: Buffer;
  readonly resumeHash: Buffer;
  readonly reason: string;
  /** The signed declaration document, as uploaded. */
  readonly declaration: Buffer;
  readonly logIndex: number;
  readonly receivedAt: number;
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
   * until the transaction ends, and takes a shared lock on each of `bucketIds` (the bucket
   * lock disposition takes exclusively before destroying a bucket's keys; see
   * PG_BUCKET_LOCK_CLASS), in the same round trip. SQLite has one writer: no-op. MUST run
   * inside a transaction.
   */
  lockDevices(orgId: OrgId, deviceIds: readonly DeviceId[], bucketIds?: readonly string[]): Promise<void>;
  /** The device's last stored record or gap declaration, whichever is later; undefined before either. */
  head(orgId: OrgId, deviceId: DeviceId): Promise<ArchiveHead | undefined>;
  /** The heads of several devices in one query; devices without records or declarations are absent. */
  heads(orgId: OrgId, deviceIds: readonly DeviceId[]): Promise<Map<DeviceId, ArchiveHead>>;
  /** Stored records of the device with sequence numbers in [fromSeq, toSeq], ascending. */
  range(orgId: OrgId, deviceId: DeviceId, fromSeq: number, toSeq: number): Promise<ArchiveRecordRef[]>;
  /** The stored bytes of the device's record `seq`, or undefined. */
  recordBytes(orgId: OrgId, deviceId: DeviceId, seq: number): Promise<Buffer | undefined>;
  /** Inserts records (the caller has checked they are new and chained). */
  insert(orgId: OrgId, records: readonly NewArchiveRecord[]): Promise<void>;
  /**
   * Sequences `entries` in the org's log (as LogStore.sequence) and inserts `records`, the
   * i-th logged by the i-th entry, at index first + i; resolves to the first index. On
   * PostgreSQL this is one statement, so the log's sequence row (locked from here to
   * commit) is held for one round trip less. MUST run inside a transaction; the caller
   * has applied the pushback rule. `records` and `entries` are equally long, not empty.
   */
  insertSequenced(
    orgId: OrgId,
    records: readonly SequencedArchiveRecord[],
    entries: readonly Uint8Array[],
  ): Promise<number>;
  /** Which of these session key ids are stored. */
  knownSessionKeys(orgId: OrgId, keyIds: readonly Uint8Array[]): Promise<Set<string>>;
  /** Stores wrapped session keys, ignoring ids already present. */
  putSessionKeys(orgId: OrgId, keys: readonly NewSessionKey[]): Promise<void>;
  /** How many records the org has (for tests and reports). */
  count(orgId: OrgId): Promise<number>;
  /** The device's accepted gap declaration starting at `firstSeq`, if any. */
  gapAt(orgId: OrgId, deviceId: DeviceId, firstSeq: number): Promise<ArchiveGapRow | undefined>;
  /** Stores an accepted gap declaration (the caller checked it and sequenced its log entry). */
  insertGap(orgId: OrgId, gap: ArchiveGapRow): Promise<void>;
  /** The org's accepted gap declarations by device, then sequence number; at most `limit`. */
  gaps(orgId: OrgId, limit: number): Promise<ArchiveGapRow[]>;
}

/** Arbitrary constant naming the per-device chain advisory locks on PostgreSQL ("arc"). */
const PG_DEVICE_LOCK_CLASS = 0x617263;

/**
 * Arbitrary constant naming the per-bucket advisory locks on PostgreSQL ("bkt"): ingest holds
 * a bucket's lock shared from before it reads whether the bucket was disposed until it
 * commits the records sealed to it; disposition takes it exclusively before it checks that
 * no record of the bucket remains and destroys its keys. So either the disposition sees the
 * records (and keeps the keys) or the ingest sees the disposal (and refuses them), across
 * API nodes and whatever their clocks say.
 */
export const PG_BUCKET_LOCK_CLASS = 0x626b74;

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

/** A query of `parts` joined by bound parameters: `parts.length - 1` values go between them. */
function bound(parts: readonly string[], values: readonly SqlValue[]): SqlQuery {
  if (parts.length !== values.length + 1) throw new Error('query parts and values do not match');
  return { fragments: parts, values };
}

/** `n` placeholders' worth of separators: [open, sep, sep, …, close]. */
function list(n: number, open: string, sep: string, close: string): string[] {
  return [open, ...Array.from({ length: n - 1 }, () => sep), close];
}

/** Most values in one IN list or UNION (far below both backends' parameter limits). */
const MAX_KEYS_PER_QUERY = 200;

/** ArchiveStore over SQL. */
export class SqlArchiveStore implements ArchiveStore {
  constructor(private readonly db: SqlExecutor) {}

  async lockDevices(
    orgId: OrgId,
    deviceIds: readonly DeviceId[],
    bucketIds: readonly string[] = [],
  ): Promise<void> {
    if (this.db.dialect === 'sqlite') return;
    const keys = [...new Set(deviceIds)].sort().map((d) => `${orgId}/${d}`);
    const buckets = [...new Set(bucketIds)];
    // The sorted subqueries (OFFSET 0 keeps them from being flattened) fix the order the
    // locks are taken in, so concurrent writers cannot deadlock. The bucket locks are shared
    // (ingests do not exclude each other) and follow the device locks; only a disposition
    // step takes one exclusively, and it holds no device lock. Only registered buckets are
    // locked (an indexed read in the same statement): a batch naming made-up buckets, which
    // ingest refuses anyway, takes no lock for them (each lock is a slot of the server's
    // shared lock table).
    const deviceLocks = (n: number): string[] =>
      list(
        n,
        `SELECT pg_advisory_xact_lock(${PG_DEVICE_LOCK_CLASS}, hashtext(k)) FROM (SELECT k FROM (VALUES (`,
        '), (',
        ')) AS v(k) ORDER BY k OFFSET 0) AS s',
      );
    // The org id, then `n` bucket ids (n ≥ 1); the key is the one lockBucket locks.
    const bucketLocks = (n: number): string[] => [
      `SELECT pg_advisory_xact_lock_shared(${PG_BUCKET_LOCK_CLASS}, hashtext(org_id || '/' || bucket_id)) ` +
        'FROM (SELECT org_id, bucket_id FROM buckets WHERE org_id = ',
      ...list(n, ' AND bucket_id IN (', ', ', ') ORDER BY bucket_id OFFSET 0) AS b'),
    ];
    for (let i = 0; i < keys.length || (i === 0 && buckets.length > 0); i += MAX_KEYS_PER_QUERY) {
      const part = keys.slice(i, i + MAX_KEYS_PER_QUERY);
      let parts = part.length === 0 ? [] : deviceLocks(part.length);
      let values: string[] = part;
      if (i + MAX_KEYS_PER_QUERY >= keys.length && buckets.length > 0) {
        // One round trip with the last devices: a batch's buckets are few.
        const b = bucketLocks(buckets.length);
        parts =
          parts.length === 0
            ? b
            : [...parts.slice(0, -1), `${parts.at(-1)!} UNION ALL ${b[0]!}`, ...b.slice(1)];
        values = [...part, orgId, ...buckets];
      }
      await this.db.all(bound(parts, values));
    }
  }

  async head(orgId: OrgId, deviceId: DeviceId): Promise<ArchiveHead | undefined> {
    return (await this.heads(orgId, [deviceId])).get(deviceId);
  }

  async heads(orgId: OrgId, deviceIds: readonly DeviceId[]): Promise<Map<DeviceId, ArchiveHead>> {
    const out = new Map<DeviceId, ArchiveHead>();
    // IN-list chunks (padded by repeating a device) keep the statement texts few.
    for (const part of inListChunks(deviceIds)) {
      // One indexed ORDER BY … LIMIT 1 per device and table, in one statement (a GROUP BY
      // MAX would scan every row of the devices on both backends): the last record and the
      // last gap declaration (almost always none); the later one is the head.
      const parts = [''];
      part.forEach((_, n) => {
        parts[parts.length - 1] +=
          `${n === 0 ? '' : ' UNION ALL '}SELECT * FROM (SELECT device_id, seq, record_hash, log_index, 0 AS declared ` +
          'FROM archive_records WHERE org_id = ';
        parts.push(
          ' AND device_id = ',
          ` ORDER BY seq DESC LIMIT 1) AS h${n} UNION ALL SELECT * FROM (SELECT device_id, last_seq AS seq, ` +
            'resume_hash AS record_hash, log_index, 1 AS declared FROM archive_gaps WHERE org_id = ',
          ' AND device_id = ',
          ` ORDER BY first_seq DESC LIMIT 1) AS g${n}`,
        );
      });
      const rows = await this.db.all<{
        device_id: unknown;
        seq: unknown;
        record_hash: unknown;
        log_index: unknown;
        declared: unknown;
      }>(
        bound(
          parts,
          part.flatMap((d) => [orgId, d, orgId, d]),
        ),
      );
      for (const r of rows) {
        const deviceId = text(r.device_id) as DeviceId;
        const seq = int(r.seq);
        const had = out.get(deviceId);
        if (had !== undefined && had.seq >= seq) continue;
        out.set(deviceId, {
          seq,
          hash: bytes(r.record_hash),
          logIndex: int(r.log_index),
          declared: int(r.declared) === 1,
        });
      }
    }
    return out;
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
    if (records.length === 0) return;
    if (this.db.dialect === 'postgres') {
      // One statement of fixed text (prepared once per connection) with one binary array
      // parameter per column, instead of multi-row VALUES with 8 placeholders a row.
      await this.db.run({
        ...sql`INSERT INTO archive_records
            (org_id, device_id, seq, record_hash, bucket_id, log_index, received_at, record)
          SELECT ${orgId}::text, u.device_id, u.seq, u.record_hash, u.bucket_id, u.log_index, u.received_at, u.record
          FROM unnest(${pgTextArray(records.map((r) => r.deviceId))}::text[],
            ${pgInt8Array(records.map((r) => r.seq))}::int8[],
            ${pgByteaArray(records.map((r) => r.hash))}::bytea[],
            ${pgTextArray(records.map((r) => r.bucketId))}::text[],
            ${pgInt8Array(records.map((r) => r.logIndex))}::int8[],
            ${pgInt8Array(records.map((r) => r.receivedAt))}::int8[],
            ${pgByteaArray(records.map((r) => r.bytes))}::bytea[])
          AS u(device_id, seq, record_hash, bucket_id, log_index, received_at, record)`,
        name: 'archive-insert',
      });
      return;
    }
    await this.insertSqlite(orgId, records, (r) => r.logIndex);
  }

  /** SQLite's multi-row insert; `logIndex` gives each record's index (no copy of the record for it). */
  private async insertSqlite<R extends SequencedArchiveRecord>(
    orgId: OrgId,
    records: readonly R[],
    logIndex: (r: R, i: number) => number,
  ): Promise<void> {
    const rows = records.map(
      (r, i) =>
        [
          orgId,
          r.deviceId,
          r.seq,
          asBuffer(r.hash),
          r.bucketId,
          logIndex(r, i),
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

  async insertSequenced(
    orgId: OrgId,
    records: readonly SequencedArchiveRecord[],
    entries: readonly Uint8Array[],
  ): Promise<number> {
    if (records.length !== entries.length || entries.length === 0)
      throw new Error('one log entry per record, and at least one');
    if (this.db.dialect === 'sqlite') {
      const first = await new SqlLogStore(this.db).sequence(orgId, entries);
      await this.insertSqlite(orgId, records, (_r, i) => first + i);
      return first;
    }
    // LogStore.sequence's statement (pgSequenceCtes) with the records' insert as one more CTE.
    const row = await this.db.get<{ first: unknown }>({
      ...concatSql(
        pgSequenceCtes(orgId, entries),
        sql`,
        r AS (INSERT INTO archive_records
            (org_id, device_id, seq, record_hash, bucket_id, log_index, received_at, record)
          SELECT s.org_id, u.device_id, u.seq, u.record_hash, u.bucket_id, s.first + u.o - 1, u.received_at, u.record
          FROM s, unnest(${pgTextArray(records.map((r) => r.deviceId))}::text[],
            ${pgInt8Array(records.map((r) => r.seq))}::int8[],
            ${pgByteaArray(records.map((r) => r.hash))}::bytea[],
            ${pgTextArray(records.map((r) => r.bucketId))}::text[],
            ${pgInt8Array(records.map((r) => r.receivedAt))}::int8[],
            ${pgByteaArray(records.map((r) => r.bytes))}::bytea[])
          WITH ORDINALITY AS u(device_id, seq, record_hash, bucket_id, received_at, record, o))
        SELECT first FROM s`,
      ),
      name: 'archive-insert-sequenced',
    });
    return int(row?.first);
  }

  async knownSessionKeys(orgId: OrgId, keyIds: readonly Uint8Array[]): Promise<Set<string>> {
    const rows = await allIn<{ key_id: unknown }>(
      this.db,
      sql`SELECT key_id FROM archive_session_keys WHERE org_id = ${orgId} AND key_id IN`,
      keyIds.map(asBuffer),
    );
    return new Set(rows.map((r) => bytes(r.key_id).toString('hex')));
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

  async gapAt(orgId: OrgId, deviceId: DeviceId, firstSeq: number): Promise<ArchiveGapRow | undefined> {
    const row = await this.db.get<GapRow>(
      sql`SELECT device_id, first_seq, last_seq, prev_hash, resume_hash, reason, declaration, log_index, received_at
        FROM archive_gaps WHERE org_id = ${orgId} AND device_id = ${deviceId} AND first_seq = ${firstSeq}`,
    );
    return row === undefined ? undefined : gapOf(row);
  }

  async insertGap(orgId: OrgId, g: ArchiveGapRow): Promise<void> {
    await this.db.run(
      sql`INSERT INTO archive_gaps (org_id, device_id, first_seq, last_seq, prev_hash, resume_hash, reason,
          declaration, log_index, received_at)
        VALUES (${orgId}, ${g.deviceId}, ${g.firstSeq}, ${g.lastSeq}, ${g.prevHash}, ${g.resumeHash}, ${g.reason},
          ${g.declaration}, ${g.logIndex}, ${g.receivedAt})`,
    );
  }

  async gaps(orgId: OrgId, limit: number): Promise<ArchiveGapRow[]> {
    const rows = await this.db.all<GapRow>(
      sql`SELECT device_id, first_seq, last_seq, prev_hash, resume_hash, reason, declaration, log_index, received_at
        FROM archive_gaps WHERE org_id = ${orgId} ORDER BY device_id, first_seq LIMIT ${limit}`,
    );
    return rows.map(gapOf);
  }
}

interface GapRow {
  device_id: unknown;
  first_seq: unknown;
  last_seq: unknown;
  prev_hash: unknown;
  resume_hash: unknown;
  reason: unknown;
  declaration: unknown;
  log_index: unknown;
  received_at: unknown;
}

function gapOf(r: GapRow): ArchiveGapRow {
  return {
    deviceId: text(r.device_id) as DeviceId,
    firstSeq: int(r.first_seq),
    lastSeq: int(r.last_seq),
    prevHash: bytes(r.prev_hash),
    resumeHash: bytes(r.resume_hash),
    reason: text(r.reason),
    declaration: bytes(r.declaration),
    logIndex: int(r.log_index),
    receivedAt: int(r.received_at),
  };
}
