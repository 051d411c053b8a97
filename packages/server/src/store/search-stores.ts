/**
 * The blind search index (docs/search.md): posting blocks written by the search indexer
 * after ingest commits, one row per (token, indexer pass); a map from log index to the
 * archive record it names; each org's indexing high-water mark; and device batch
 * signatures (one row per uploaded batch). Every query filters on the org id.
 */
import { MAX_BATCH_RECORDS } from '@custos/core';
import type { DeviceId, OrgId } from '../ids.js';
import { asBuffer, insertAll } from './log-stores.js';
import { bytes, int, text } from './row-checks.js';
import { allIn, inList, inListChunks, rowsIn, sql, type SqlExecutor } from './sql.js';

/** One posting block: the records of one indexer pass (ids ≥ `block`) that carry `token`. */
export interface PostingBlock {
  readonly token: Buffer;
  /** The pass's first log index: every id in the block is ≥ it and below the next block's. */
  readonly block: number;
  /** How many ids `ids` holds. */
  readonly n: number;
  /** Delta/varint-encoded ascending log indexes (search/posting-codec.ts). */
  readonly ids: Buffer;
}

/** A block of a token without its ids (the planning read). */
export interface BlockRef {
  readonly block: number;
  readonly n: number;
}

/** An indexed record: which archive record a log index names. */
export interface IndexedRecord {
  readonly logIndex: number;
  readonly deviceId: DeviceId;
  readonly seq: number;
  readonly bucketId: string;
}

/**
 * An indexed-record row as the indexer writes it: on SQLite, `rowid` is the archive record's
 * row address, a shortcut for fetching result pages (one B-tree descent instead of two). It
 * is only a hint, checked on every use: VACUUM may renumber rows, so a row found at that
 * address must still be the same (org, device, seq) or the record is looked up by key.
 * Absent or null: always by key (PostgreSQL has no stable row address).
 */
export interface NewIndexedRecord extends IndexedRecord {
  readonly rowid?: number | null;
}

/** A stored archive record with its bytes (search results, exports by device). */
export interface StoredArchiveRecord extends IndexedRecord {
  readonly hash: Buffer;
  readonly receivedAt: number;
  readonly bytes: Buffer;
}

/** A record as the indexer reads it. */
export interface RecordToIndex {
  readonly deviceId: DeviceId;
  readonly seq: number;
  readonly bucketId: string;
  readonly bytes: Buffer;
  /** SQLite: the record's row address (a hint, see {@link NewIndexedRecord}); null on PostgreSQL. */
  readonly rowid: number | null;
}

/** A device's signed batch (docs/archive-format.md §6). */
export interface StoredBatch {
  readonly deviceId: DeviceId;
  readonly firstSeq: number;
  readonly count: number;
  readonly signature: Buffer;
  /**
   * The record hashes the signature covers, concatenated in sequence order (count × 32
   * bytes), kept so that a batch still verifies after disposition deleted some of its
   * records. Undefined for batches stored before migration 18.
   */
  readonly hashes?: Buffer | undefined;
}

/** An org whose log has grown past its search index. */
export interface SearchBacklog {
  readonly orgId: OrgId;
  /** Next log index to index. */
  readonly indexed: number;
  /** The integrated tree size: the indexer stops there, so every hit has an inclusion proof. */
  readonly treeSize: number;
}

/** The search index of each organisation. */
export interface SearchStore {
  /** Orgs whose integrated tree extends past their index (global sweep). */
  backlogs(): Promise<SearchBacklog[]>;
  /** The org's next log index to index (0 before the first pass). */
  indexed(orgId: OrgId): Promise<number>;
  /** PostgreSQL: a transaction-scoped advisory lock, false when another node holds it. SQLite: true. */
  tryLockIndexer(orgId: OrgId): Promise<boolean>;
  /** The block the next small pass may extend (null: start a new one). */
  tailBlock(orgId: OrgId): Promise<number | null>;
  /**
   * Moves the high-water mark from `from` to `to` and sets the tail block; false when the mark
   * was not at `from` (compare-and-set).
   */
  advance(orgId: OrgId, from: number, to: number, tail: number | null): Promise<boolean>;
  /** Archive records of a device with sequence numbers in [fromSeq, toSeq], ascending, with bytes. */
  recordsToIndex(orgId: OrgId, deviceId: DeviceId, fromSeq: number, toSeq: number): Promise<RecordToIndex[]>;
  /** Writes posting blocks; a row of an existing (token, block) is replaced (tail extension). */
  putPostings(orgId: OrgId, blocks: readonly PostingBlock[]): Promise<void>;
  /** The rows of these tokens in one block (absent tokens are skipped). */
  blockPostings(orgId: OrgId, block: number, tokens: readonly Uint8Array[]): Promise<PostingBlock[]>;
  /** Appends indexed-record rows. */
  putIndexed(orgId: OrgId, records: readonly NewIndexedRecord[]): Promise<void>;
  /** The blocks of `token` below `beforeBlock` (exclusive; null: all), newest first. */
  blockRefs(orgId: OrgId, token: Uint8Array, beforeBlock: number | null): Promise<BlockRef[]>;
  /** The posting blocks of these tokens among these blocks. */
  postings(orgId: OrgId, tokens: readonly Uint8Array[], blocks: readonly number[]): Promise<PostingBlock[]>;
  /** The indexed-record rows of these log indexes (absent ones are skipped). */
  indexedRecords(orgId: OrgId, logIndexes: readonly number[]): Promise<IndexedRecord[]>;
  /** The archive records of these log indexes, with bytes; in no particular order. */
  recordsAt(orgId: OrgId, logIndexes: readonly number[]): Promise<StoredArchiveRecord[]>;
  /** A device's records from `fromSeq`, ascending, at most `limit`. */
  deviceRecords(
    orgId: OrgId,
    deviceId: DeviceId,
    fromSeq: number,
    limit: number,
  ): Promise<StoredArchiveRecord[]>;
  /** The wrapped session key with this id (docs/archive-format.md §4.1), or undefined. */
  wrappedSessionKey(orgId: OrgId, keyId: Uint8Array): Promise<Buffer | undefined>;
  /**
   * Stores device batch signatures, at most one per (device, first sequence number): a batch
   * re-sent with more records (a replayed prefix plus new ones) replaces a shorter one, any
   * other repeat is ignored. At most one batch per device in one call.
   */
  putBatches(orgId: OrgId, batches: readonly StoredBatch[]): Promise<void>;
  /** A stored batch of the device that covers `seq` (the latest-starting one), or undefined. */
  batchCovering(orgId: OrgId, deviceId: DeviceId, seq: number): Promise<StoredBatch | undefined>;
}

/** Arbitrary constant naming the indexer advisory locks on PostgreSQL ("srch"). */
const PG_INDEXER_LOCK_CLASS = 0x73726368;

interface StoredRow {
  log_index: unknown;
  device_id: unknown;
  seq: unknown;
  bucket_id: unknown;
  record_hash: unknown;
  received_at: unknown;
  record: unknown;
}

function storedOf(r: StoredRow): StoredArchiveRecord {
  return {
    logIndex: int(r.log_index),
    deviceId: text(r.device_id) as DeviceId,
    seq: int(r.seq),
    bucketId: text(r.bucket_id),
    hash: bytes(r.record_hash),
    receivedAt: int(r.received_at),
    bytes: bytes(r.record),
  };
}

/**
 * {@link storedOf} for a row read as an array (the page fetch: no object per row), columns in
 * the order `log_index, device_id, seq, bucket_id, record_hash, received_at, record`.
 */
function storedOfArray(r: readonly unknown[]): StoredArchiveRecord {
  return {
    logIndex: int(r[0]),
    deviceId: text(r[1]) as DeviceId,
    seq: int(r[2]),
    bucketId: text(r[3]),
    hash: bytes(r[4]),
    receivedAt: int(r[5]),
    bytes: bytes(r[6]),
  };
}

/** SearchStore over SQL. */
export class SqlSearchStore implements SearchStore {
  constructor(private readonly db: SqlExecutor) {}

  async backlogs(): Promise<SearchBacklog[]> {
    const rows = await this.db.all<{ org_id: unknown; indexed: unknown; tree_size: unknown }>(
      sql`SELECT t.org_id, COALESCE(s.next_index, 0) AS indexed, t.tree_size FROM log_tree t
        LEFT JOIN search_state s ON s.org_id = t.org_id WHERE t.tree_size > COALESCE(s.next_index, 0)
        ORDER BY t.org_id`,
    );
    return rows.map((r) => ({
      orgId: text(r.org_id) as OrgId,
      indexed: int(r.indexed),
      treeSize: int(r.tree_size),
    }));
  }

  async indexed(orgId: OrgId): Promise<number> {
    const row = await this.db.get<{ next_index: unknown }>(
      sql`SELECT next_index FROM search_state WHERE org_id = ${orgId}`,
    );
    return row === undefined ? 0 : int(row.next_index);
  }

  async tryLockIndexer(orgId: OrgId): Promise<boolean> {
    if (this.db.dialect === 'sqlite') return true;
    const row = await this.db.get<{ ok: unknown }>(
      sql`SELECT pg_try_advisory_xact_lock(${PG_INDEXER_LOCK_CLASS}, hashtext(${orgId})) AS ok`,
    );
    return row?.ok === true;
  }

  async tailBlock(orgId: OrgId): Promise<number | null> {
    const row = await this.db.get<{ tail_block: unknown }>(
      sql`SELECT tail_block FROM search_state WHERE org_id = ${orgId}`,
    );
    return row === undefined || row.tail_block === null ? null : int(row.tail_block);
  }

  async advance(orgId: OrgId, from: number, to: number, tail: number | null): Promise<boolean> {
    if (from === 0) {
      // The first pass creates the row; a concurrent creator makes this insert a no-op.
      const n = await this.db.run(
        sql`INSERT INTO search_state (org_id, next_index, tail_block) VALUES (${orgId}, ${to}, ${tail})
          ON CONFLICT (org_id) DO NOTHING`,
      );
      if (n === 1) return true;
    }
    const n = await this.db.run(
      sql`UPDATE search_state SET next_index = ${to}, tail_block = ${tail} WHERE org_id = ${orgId} AND next_index = ${from}`,
    );
    return n === 1;
  }

  async recordsToIndex(
    orgId: OrgId,
    deviceId: DeviceId,
    fromSeq: number,
    toSeq: number,
  ): Promise<RecordToIndex[]> {
    type Row = {
      device_id: unknown;
      seq: unknown;
      bucket_id: unknown;
      record: unknown;
      row_address: unknown;
    };
    const rows = await this.db.all<Row>(
      this.db.dialect === 'sqlite'
        ? sql`SELECT device_id, seq, bucket_id, record, rowid AS row_address FROM archive_records
          WHERE org_id = ${orgId} AND device_id = ${deviceId} AND seq >= ${fromSeq} AND seq <= ${toSeq} ORDER BY seq`
        : sql`SELECT device_id, seq, bucket_id, record, NULL AS row_address FROM archive_records
          WHERE org_id = ${orgId} AND device_id = ${deviceId} AND seq >= ${fromSeq} AND seq <= ${toSeq} ORDER BY seq`,
    );
    return rows.map((r) => ({
      deviceId: text(r.device_id) as DeviceId,
      seq: int(r.seq),
      bucketId: text(r.bucket_id),
      bytes: bytes(r.record),
      rowid: r.row_address === null ? null : int(r.row_address),
    }));
  }

  async putPostings(orgId: OrgId, blocks: readonly PostingBlock[]): Promise<void> {
    await insertAll(
      this.db,
      'INSERT INTO search_postings (org_id, token, block, n, ids)',
      blocks.map((b) => [orgId, asBuffer(b.token), b.block, b.n, b.ids] as const),
      ' ON CONFLICT (org_id, token, block) DO UPDATE SET n = excluded.n, ids = excluded.ids',
    );
  }

  async blockPostings(orgId: OrgId, block: number, tokens: readonly Uint8Array[]): Promise<PostingBlock[]> {
    const rows = await allIn<{ token: unknown; n: unknown; ids: unknown }>(
      this.db,
      sql`SELECT token, n, ids FROM search_postings WHERE org_id = ${orgId} AND block = ${block} AND token IN`,
      tokens.map(asBuffer),
    );
    return rows.map((r) => ({ token: bytes(r.token), block, n: int(r.n), ids: bytes(r.ids) }));
  }

  async putIndexed(orgId: OrgId, records: readonly NewIndexedRecord[]): Promise<void> {
    await insertAll(
      this.db,
      'INSERT INTO search_records (org_id, log_index, device_id, seq, bucket_id, archive_rowid)',
      records.map(
        (r) =>
          [
            orgId,
            r.logIndex,
            r.deviceId,
            r.seq,
            r.bucketId,
            this.db.dialect === 'sqlite' ? (r.rowid ?? null) : null,
          ] as const,
      ),
    );
  }

  async blockRefs(orgId: OrgId, token: Uint8Array, beforeBlock: number | null): Promise<BlockRef[]> {
    const t = asBuffer(token);
    // Rows as arrays (every search reads a block list per token: no object per row).
    const rows = await this.db.rows(
      beforeBlock === null
        ? sql`SELECT block, n FROM search_postings WHERE org_id = ${orgId} AND token = ${t} ORDER BY block DESC`
        : sql`SELECT block, n FROM search_postings WHERE org_id = ${orgId} AND token = ${t} AND block < ${beforeBlock}
            ORDER BY block DESC`,
    );
    return rows.map((r) => ({ block: int(r[0]), n: int(r[1]) }));
  }

  async postings(
    orgId: OrgId,
    tokens: readonly Uint8Array[],
    blocks: readonly number[],
  ): Promise<PostingBlock[]> {
    const out: PostingBlock[] = [];
    // One statement for every token and block of a read (IN lists on both key columns), not
    // one per token.
    for (const ts of inListChunks(tokens.map(asBuffer))) {
      const head = inList(
        sql`SELECT token, block, n, ids FROM search_postings WHERE org_id = ${orgId} AND token IN`,
        ts,
        ' AND block IN',
      );
      for (const bs of inListChunks(blocks)) {
        for (const r of await this.db.rows(inList(head, bs))) {
          out.push({ token: bytes(r[0]), block: int(r[1]), n: int(r[2]), ids: bytes(r[3]) });
        }
      }
    }
    return out;
  }

  async indexedRecords(orgId: OrgId, logIndexes: readonly number[]): Promise<IndexedRecord[]> {
    const rows = await allIn<{ log_index: unknown; device_id: unknown; seq: unknown; bucket_id: unknown }>(
      this.db,
      sql`SELECT log_index, device_id, seq, bucket_id FROM search_records WHERE org_id = ${orgId} AND log_index IN`,
      logIndexes,
    );
    return rows.map((r) => ({
      logIndex: int(r.log_index),
      deviceId: text(r.device_id) as DeviceId,
      seq: int(r.seq),
      bucketId: text(r.bucket_id),
    }));
  }

  async recordsAt(orgId: OrgId, logIndexes: readonly number[]): Promise<StoredArchiveRecord[]> {
    if (this.db.dialect !== 'sqlite' || logIndexes.length === 0)
      return this.recordsAtByKey(orgId, logIndexes);
    // By row address first; the check on (org, device, seq) rejects an address VACUUM
    // renumbered or a deleted row's reused one (the planner uses the rowid equality).
    // Rows as arrays: a page is up to 100 records, and an object with named columns per row
    // cost more CPU than the values (docs/search.md §7).
    const found = await rowsIn(
      this.db,
      sql`SELECT s.log_index, a.device_id, a.seq, a.bucket_id, a.record_hash, a.received_at, a.record
        FROM search_records s JOIN archive_records a ON a.rowid = s.archive_rowid
        WHERE a.org_id = s.org_id AND a.device_id = s.device_id AND a.seq = s.seq
        AND s.org_id = ${orgId} AND s.log_index IN`,
      logIndexes,
    );
    const out = found.map(storedOfArray);
    if (out.length === new Set(logIndexes).size) return out;
    const have = new Set(out.map((r) => r.logIndex));
    const rest = logIndexes.filter((i) => !have.has(i));
    return out.concat(await this.recordsAtByKey(orgId, rest));
  }

  /** {@link recordsAt} through the record's key. */
  private async recordsAtByKey(orgId: OrgId, logIndexes: readonly number[]): Promise<StoredArchiveRecord[]> {
    const rows = await rowsIn(
      this.db,
      sql`SELECT s.log_index, a.device_id, a.seq, a.bucket_id, a.record_hash, a.received_at, a.record
        FROM search_records s JOIN archive_records a
        ON a.org_id = s.org_id AND a.device_id = s.device_id AND a.seq = s.seq
        WHERE s.org_id = ${orgId} AND s.log_index IN`,
      logIndexes,
    );
    return rows.map(storedOfArray);
  }

  async deviceRecords(
    orgId: OrgId,
    deviceId: DeviceId,
    fromSeq: number,
    limit: number,
  ): Promise<StoredArchiveRecord[]> {
    const rows = await this.db.all<StoredRow>(
      sql`SELECT log_index, device_id, seq, bucket_id, record_hash, received_at, record FROM archive_records
        WHERE org_id = ${orgId} AND device_id = ${deviceId} AND seq >= ${fromSeq} ORDER BY seq LIMIT ${limit}`,
    );
    return rows.map(storedOf);
  }

  async wrappedSessionKey(orgId: OrgId, keyId: Uint8Array): Promise<Buffer | undefined> {
    const row = await this.db.get<{ wrapped: unknown }>(
      sql`SELECT wrapped FROM archive_session_keys WHERE org_id = ${orgId} AND key_id = ${asBuffer(keyId)}`,
    );
    return row === undefined ? undefined : bytes(row.wrapped);
  }

  async putBatches(orgId: OrgId, batches: readonly StoredBatch[]): Promise<void> {
    await insertAll(
      this.db,
      'INSERT INTO archive_batches (org_id, device_id, first_seq, count, signature, hashes)',
      batches.map(
        (b) =>
          [
            orgId,
            b.deviceId,
            b.firstSeq,
            b.count,
            asBuffer(b.signature),
            b.hashes === undefined ? null : asBuffer(b.hashes),
          ] as const,
      ),
      ` ON CONFLICT (org_id, device_id, first_seq) DO UPDATE SET count = excluded.count,
        signature = excluded.signature, hashes = excluded.hashes
        WHERE excluded.count > archive_batches.count`,
    );
  }

  async batchCovering(orgId: OrgId, deviceId: DeviceId, seq: number): Promise<StoredBatch | undefined> {
    const row = await this.db.get<{
      first_seq: unknown;
      count: unknown;
      signature: unknown;
      hashes: unknown;
    }>(
      // Batches may overlap (a longer re-send starts before a later batch), so the latest one
      // starting at or before `seq` need not cover it; no batch is longer than
      // MAX_BATCH_RECORDS, which bounds the primary-key range scanned.
      sql`SELECT first_seq, count, signature, hashes FROM archive_batches
        WHERE org_id = ${orgId} AND device_id = ${deviceId} AND first_seq <= ${seq}
        AND first_seq > ${seq - MAX_BATCH_RECORDS} AND first_seq + count > ${seq}
        ORDER BY first_seq DESC LIMIT 1`,
    );
    if (row === undefined) return undefined;
    return {
      deviceId,
      firstSeq: int(row.first_seq),
      count: int(row.count),
      signature: bytes(row.signature),
      hashes: row.hashes === null ? undefined : bytes(row.hashes),
    };
  }
}
