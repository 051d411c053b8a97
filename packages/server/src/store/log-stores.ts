/**
 * The org logs' storage: the sequence counter (next index), sequenced entries, the
 * integrated tree state, hash tiles and signed checkpoints. Sequencing (business
 * transactions) touches only `log_sequence` and `log_entries`; integration touches only
 * `log_tree`, `log_tiles` and `log_checkpoints`, so the two never contend for a row.
 */
import { RELAY_RECEIPT_MARK } from '@custos/core';
import type { OrgId } from '../ids.js';
import { bytes, int, text } from './row-checks.js';
import { pgByteaArray } from './postgres/pg-arrays.js';
import { concatSql, sql, type SqlExecutor, type SqlQuery, type SqlValue } from './sql.js';

/** The name and key one org's log is signed under (fixed when the log is created). */
export interface LogKeyRecord {
  readonly orgId: OrgId;
  readonly origin: string;
  readonly verifierKey: string;
}

/** A log entry with its index. */
export interface IndexedEntry {
  readonly index: number;
  readonly entry: Buffer;
}

/** The integrated state of one org's log. */
export interface LogTreeRecord {
  readonly orgId: OrgId;
  /** The checkpoint origin (also the log key's name); fixed when the log is created. */
  readonly origin: string;
  /** The log's verifier key string (signed-note §3), recorded with the origin. */
  readonly verifierKey: string;
  readonly size: number;
  /** Right-edge frontier hashes, largest subtree first (core `TreeState.frontier`). */
  readonly frontier: readonly Buffer[];
  readonly root: Buffer;
}

/** A signed checkpoint as stored. */
export interface StoredCheckpoint {
  readonly treeSize: number;
  readonly root: Buffer;
  /** The signed note, verbatim. */
  readonly note: string;
  readonly signedAt: number;
}

/** An org whose log has sequenced entries not yet integrated. */
export interface LogBacklog {
  readonly orgId: OrgId;
  readonly nextIndex: number;
  readonly treeSize: number;
}

/** A tile row: the widest version of tile (level, index) written so far. */
export interface StoredTile {
  readonly level: number;
  readonly index: number;
  readonly hashes: Buffer;
}

/** Storage of the org logs. */
export interface LogStore {
  /**
   * Appends `entries` to the org's sequence: reserves consecutive indexes and stores the
   * entries at them; resolves to the first index. Entries are keyed by index only (there
   * is no lookup by leaf hash, docs/log.md §10). On PostgreSQL the org's sequence row stays
   * locked until the transaction ends, which is what makes indexes gap-free and unique.
   * MUST run inside a transaction. `entries` must not be empty.
   */
  sequence(orgId: OrgId, entries: readonly Uint8Array[]): Promise<number>;
  /** Sequenced entries (`nextIndex`) and integrated size (`treeSize`) of the org's log. */
  backlog(orgId: OrgId): Promise<LogBacklog>;
  /** Global: every org with entries sequenced but not integrated. */
  backlogs(): Promise<LogBacklog[]>;
  /** Entries with indexes in [from, to), in order. */
  entries(orgId: OrgId, from: number, to: number): Promise<Buffer[]>;
  /**
   * The entries with indexes in [from, to) other than relay receipts (core
   * RELAY_RECEIPT_MARK, tested on the stored bytes in SQL), in order, with their indexes:
   * what the search indexer reads. Receipts carry nothing to index and are most of a
   * messaging org's log, so they never leave the database.
   */
  entriesOtherThanReceipts(orgId: OrgId, from: number, to: number): Promise<IndexedEntry[]>;
  /** The integrated tree, or undefined before the first integration. */
  tree(orgId: OrgId): Promise<LogTreeRecord | undefined>;
  /** Every org's log: its origin and the verifier key it was created with, by org id. */
  logKeys(): Promise<LogKeyRecord[]>;
  /** Creates the (empty) tree row with its origin and verifier key if absent. */
  createTree(orgId: OrgId, origin: string, verifierKey: string, emptyRoot: Uint8Array): Promise<void>;
  /** Replaces the tree state, only if it is still at `fromSize`; false when it was not. */
  advanceTree(
    orgId: OrgId,
    fromSize: number,
    size: number,
    frontier: readonly Uint8Array[],
    root: Uint8Array,
  ): Promise<boolean>;
  /**
   * PostgreSQL: takes the org's integration lock for this transaction if free (one
   * integrator per log across API nodes). SQLite has one writer: always true.
   */
  tryLockIntegration(orgId: OrgId): Promise<boolean>;
  /** The stored tiles among `wanted` (missing ones are absent from the result). */
  tiles(orgId: OrgId, wanted: readonly { level: number; index: number }[]): Promise<StoredTile[]>;
  /** Writes (or widens) tiles. */
  putTiles(orgId: OrgId, tiles: readonly StoredTile[]): Promise<void>;
  /** Stores a signed checkpoint. */
  putCheckpoint(orgId: OrgId, cp: StoredCheckpoint): Promise<void>;
  /** The checkpoint with the largest tree size, or undefined. */
  latestCheckpoint(orgId: OrgId): Promise<StoredCheckpoint | undefined>;
  /** Checkpoints with tree size > `afterSize`, ascending, at most `limit`. */
  checkpoints(orgId: OrgId, afterSize: number, limit: number): Promise<StoredCheckpoint[]>;
}

/** A Uint8Array as the Buffer the SQL layer binds (no copy). */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * A multi-row `INSERT … VALUES (…), (…)`: `head` ends before VALUES, each row is one tuple.
 * Values stay bound parameters; only the placeholder count varies with the row count.
 */
export function insertRows(head: string, rows: readonly (readonly SqlValue[])[], tail = ''): SqlQuery {
  const fragments: string[] = [];
  const values: SqlValue[] = [];
  let pending = `${head} VALUES `;
  rows.forEach((row, r) => {
    pending += r === 0 ? '(' : ', (';
    row.forEach((v, c) => {
      fragments.push(pending);
      values.push(v);
      pending = c === row.length - 1 ? ')' : ', ';
    });
  });
  fragments.push(pending + tail);
  return { fragments, values };
}

/** Rows per multi-row INSERT: keeps statements under SQLite's and PostgreSQL's parameter limits. */
export const MAX_ROWS_PER_INSERT = 500;

/** Runs `insertRows` in chunks of {@link MAX_ROWS_PER_INSERT}. */
export async function insertAll(
  db: SqlExecutor,
  head: string,
  rows: readonly (readonly SqlValue[])[],
  tail = '',
): Promise<void> {
  for (let i = 0; i < rows.length; i += MAX_ROWS_PER_INSERT) {
    await db.run(insertRows(head, rows.slice(i, i + MAX_ROWS_PER_INSERT), tail));
  }
}

/** Arbitrary constant naming the integration advisory locks on PostgreSQL ("log"). */
const PG_INTEGRATION_LOCK_CLASS = 0x6c6f67;

const HASH = 32;

function splitFrontier(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < b.length; o += HASH) out.push(b.subarray(o, o + HASH));
  return out;
}

interface CheckpointRow {
  tree_size: unknown;
  root: unknown;
  note: unknown;
  signed_at: unknown;
}

function checkpointOf(r: CheckpointRow): StoredCheckpoint {
  return { treeSize: int(r.tree_size), root: bytes(r.root), note: text(r.note), signedAt: int(r.signed_at) };
}

/**
 * PostgreSQL: `WITH s AS (…), e AS (…)` that sequences `entries` in the org's log — `s` holds
 * the org and the first index (`first`), `e` inserts entry i at first + i. The upsert takes the
 * row lock that serialises this org's sequencers until the transaction ends; the entries go in
 * as one binary bytea[] parameter. The caller appends further CTEs and the final SELECT.
 */
export function pgSequenceCtes(orgId: OrgId, entries: readonly Uint8Array[]): SqlQuery {
  return sql`WITH s AS (
      INSERT INTO log_sequence (org_id, next_index) VALUES (${orgId}::text, ${entries.length}::int8)
      ON CONFLICT (org_id) DO UPDATE SET next_index = log_sequence.next_index + excluded.next_index
      RETURNING org_id, next_index - ${entries.length}::int8 AS first),
    e AS (INSERT INTO log_entries (org_id, idx, entry)
      SELECT s.org_id, s.first + u.o - 1, u.e FROM s, unnest(${pgByteaArray(entries)}::bytea[])
      WITH ORDINALITY AS u(e, o))`;
}

/** LogStore over SQL (SQLite and PostgreSQL; branches only where the SQL differs). */
export class SqlLogStore implements LogStore {
  constructor(private readonly db: SqlExecutor) {}

  async sequence(orgId: OrgId, entries: readonly Uint8Array[]): Promise<number> {
    if (entries.length === 0) throw new Error('nothing to sequence');
    if (this.db.dialect === 'postgres') {
      // One round trip: the upsert takes the row lock that serialises this org's sequencers
      // until the transaction ends, and the entries go in as one binary bytea[] parameter.
      const row = await this.db.get<{ first: unknown }>({
        ...concatSql(pgSequenceCtes(orgId, entries), sql` SELECT first FROM s`),
        name: 'log-sequence',
      });
      return int(row?.first);
    }
    const row = await this.db.get<{ next_index: unknown }>(
      sql`INSERT INTO log_sequence (org_id, next_index) VALUES (${orgId}, ${entries.length})
        ON CONFLICT (org_id) DO UPDATE SET next_index = log_sequence.next_index + excluded.next_index
        RETURNING next_index`,
    );
    const first = int(row?.next_index) - entries.length;
    const rows = entries.map((e, i) => [orgId, first + i, asBuffer(e)] as const);
    await insertAll(this.db, 'INSERT INTO log_entries (org_id, idx, entry)', rows);
    return first;
  }

  async backlog(orgId: OrgId): Promise<LogBacklog> {
    const row = await this.db.get<{ next_index: unknown; tree_size: unknown }>(
      sql`SELECT s.next_index, COALESCE(t.tree_size, 0) AS tree_size FROM log_sequence s
        LEFT JOIN log_tree t ON t.org_id = s.org_id WHERE s.org_id = ${orgId}`,
    );
    if (row === undefined) {
      const t = await this.db.get<{ tree_size: unknown }>(
        sql`SELECT tree_size FROM log_tree WHERE org_id = ${orgId}`,
      );
      const size = t === undefined ? 0 : int(t.tree_size);
      return { orgId, nextIndex: size, treeSize: size };
    }
    return { orgId, nextIndex: int(row.next_index), treeSize: int(row.tree_size) };
  }

  async backlogs(): Promise<LogBacklog[]> {
    const rows = await this.db.all<{ org_id: unknown; next_index: unknown; tree_size: unknown }>(
      sql`SELECT s.org_id, s.next_index, COALESCE(t.tree_size, 0) AS tree_size FROM log_sequence s
        LEFT JOIN log_tree t ON t.org_id = s.org_id WHERE s.next_index > COALESCE(t.tree_size, 0)
        ORDER BY s.org_id`,
    );
    return rows.map((r) => ({
      orgId: text(r.org_id) as OrgId,
      nextIndex: int(r.next_index),
      treeSize: int(r.tree_size),
    }));
  }

  async entries(orgId: OrgId, from: number, to: number): Promise<Buffer[]> {
    // Rows as arrays (no object per row): the integrator and the indexer read every entry.
    const rows = await this.db.rows(
      sql`SELECT idx, entry FROM log_entries WHERE org_id = ${orgId} AND idx >= ${from} AND idx < ${to} ORDER BY idx`,
    );
    const out: Buffer[] = [];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      // A hole would shift every later leaf: refuse rather than integrate the wrong tree.
      if (int(r[0]) !== from + i) throw new Error(`log entry ${from + i} is missing`);
      out.push(bytes(r[1]));
    }
    return out;
  }

  async entriesOtherThanReceipts(orgId: OrgId, from: number, to: number): Promise<IndexedEntry[]> {
    // Every row's index comes back (a hole is refused, as by `entries`); a receipt's bytes do
    // not: the mark's parts are compared in SQL, which counts bytes from 1.
    const pg = this.db.dialect === 'postgres';
    const fragments = ['SELECT idx, CASE WHEN '];
    const values: SqlValue[] = [];
    RELAY_RECEIPT_MARK.forEach((part, i) => {
      fragments[fragments.length - 1] +=
        `${i === 0 ? '' : ' AND '}${pg ? 'substring(entry from ' : 'substr(entry, '}`;
      fragments.push(pg ? '::int for ' : ', ', pg ? '::int) = ' : ') = ', '');
      values.push(part.offset + 1, part.bytes.length, asBuffer(part.bytes));
    });
    fragments[fragments.length - 1] += ' THEN NULL ELSE entry END FROM log_entries WHERE org_id = ';
    fragments.push(' AND idx >= ', ' AND idx < ', ' ORDER BY idx');
    values.push(orgId, from, to);
    const rows = await this.db.rows({ fragments, values });
    const out: IndexedEntry[] = [];
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (int(r[0]) !== from + i) throw new Error(`log entry ${from + i} is missing`);
      if (r[1] !== null) out.push({ index: from + i, entry: bytes(r[1]) });
    }
    if (rows.length !== to - from) throw new Error(`log entry ${from + rows.length} is missing`);
    return out;
  }

  async tree(orgId: OrgId): Promise<LogTreeRecord | undefined> {
    const row = await this.db.get<{
      origin: unknown;
      verifier_key: unknown;
      tree_size: unknown;
      frontier: unknown;
      root: unknown;
    }>(sql`SELECT origin, verifier_key, tree_size, frontier, root FROM log_tree WHERE org_id = ${orgId}`);
    if (row === undefined) return undefined;
    return {
      orgId,
      origin: text(row.origin),
      verifierKey: text(row.verifier_key),
      size: int(row.tree_size),
      frontier: splitFrontier(bytes(row.frontier)),
      root: bytes(row.root),
    };
  }

  async logKeys(): Promise<LogKeyRecord[]> {
    const rows = await this.db.all<{ org_id: unknown; origin: unknown; verifier_key: unknown }>(
      sql`SELECT org_id, origin, verifier_key FROM log_tree ORDER BY org_id`,
    );
    return rows.map((r) => ({
      orgId: text(r.org_id) as OrgId,
      origin: text(r.origin),
      verifierKey: text(r.verifier_key),
    }));
  }

  async createTree(orgId: OrgId, origin: string, verifierKey: string, emptyRoot: Uint8Array): Promise<void> {
    await this.db.run(sql`INSERT INTO log_tree (org_id, origin, verifier_key, tree_size, frontier, root)
      VALUES (${orgId}, ${origin}, ${verifierKey}, 0, ${Buffer.alloc(0)}, ${asBuffer(emptyRoot)})
      ON CONFLICT (org_id) DO NOTHING`);
  }

  async advanceTree(
    orgId: OrgId,
    fromSize: number,
    size: number,
    frontier: readonly Uint8Array[],
    root: Uint8Array,
  ): Promise<boolean> {
    const f = Buffer.concat(frontier.map(asBuffer));
    const n = await this.db
      .run(sql`UPDATE log_tree SET tree_size = ${size}, frontier = ${f}, root = ${asBuffer(root)}
      WHERE org_id = ${orgId} AND tree_size = ${fromSize}`);
    return n === 1;
  }

  async tryLockIntegration(orgId: OrgId): Promise<boolean> {
    if (this.db.dialect === 'sqlite') return true;
    const row = await this.db.get<{ ok: unknown }>(
      sql`SELECT pg_try_advisory_xact_lock(${PG_INTEGRATION_LOCK_CLASS}, hashtext(${orgId})) AS ok`,
    );
    return row?.ok === true;
  }

  async tiles(orgId: OrgId, wanted: readonly { level: number; index: number }[]): Promise<StoredTile[]> {
    const out: StoredTile[] = [];
    for (const w of wanted) {
      const row = await this.db.get<{ hashes: unknown }>(
        sql`SELECT hashes FROM log_tiles WHERE org_id = ${orgId} AND level = ${w.level} AND tile_index = ${w.index}`,
      );
      if (row !== undefined) out.push({ level: w.level, index: w.index, hashes: bytes(row.hashes) });
    }
    return out;
  }

  async putTiles(orgId: OrgId, tiles: readonly StoredTile[]): Promise<void> {
    // A tile only ever grows (hashes never change once written), so the wider write wins.
    const rows = tiles.map((t) => [orgId, t.level, t.index, t.hashes] as const);
    await insertAll(
      this.db,
      'INSERT INTO log_tiles (org_id, level, tile_index, hashes)',
      rows,
      ' ON CONFLICT (org_id, level, tile_index) DO UPDATE SET hashes = excluded.hashes',
    );
  }

  async putCheckpoint(orgId: OrgId, cp: StoredCheckpoint): Promise<void> {
    await this.db.run(sql`INSERT INTO log_checkpoints (org_id, tree_size, root, note, signed_at)
      VALUES (${orgId}, ${cp.treeSize}, ${cp.root}, ${cp.note}, ${cp.signedAt})`);
  }

  async latestCheckpoint(orgId: OrgId): Promise<StoredCheckpoint | undefined> {
    const row = await this.db.get<CheckpointRow>(
      sql`SELECT tree_size, root, note, signed_at FROM log_checkpoints WHERE org_id = ${orgId}
        ORDER BY tree_size DESC LIMIT 1`,
    );
    return row === undefined ? undefined : checkpointOf(row);
  }

  async checkpoints(orgId: OrgId, afterSize: number, limit: number): Promise<StoredCheckpoint[]> {
    const rows = await this.db.all<CheckpointRow>(
      sql`SELECT tree_size, root, note, signed_at FROM log_checkpoints WHERE org_id = ${orgId}
        AND tree_size > ${afterSize} ORDER BY tree_size LIMIT ${limit}`,
    );
    return rows.map(checkpointOf);
  }
}
