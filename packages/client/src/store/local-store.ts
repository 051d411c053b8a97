/**
 * The device's local store: one SQLite file per profile whose every value is encrypted
 * with AES-256-GCM under a key derived from the device storage key (storage-key.ts).
 *
 * Layout: one table `kv(tbl, id, ord, v)`. `tbl` names a logical table (closed list
 * below); `id` is an HMAC of table and key (row-cipher.ts) so that not even the row keys
 * (peer ids, message ids) are readable in the file; `ord` is an optional plaintext integer
 * for ordered tables (archive sequence numbers, a message counter) — it reveals counts
 * and order only; `v` is the sealed key and value (row-cipher.ts), with table and id in the
 * AAD. The logical key is inside the ciphertext and checked against `id` on read, so a row
 * moved to another table or key fails to open (swapping rows is detected, not silently
 * accepted).
 *
 * Invariant: no plaintext content ever reaches the file — values, keys and logs alike.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ClientError } from '../errors.js';
import { decodeJson, encodeJson } from './json-codec.js';
import { RowCipher } from './row-cipher.js';
import {
  createStorageKey,
  openStorageKey,
  STORAGE_KEY_FILE,
  type StorageKeyOptions,
  type StorageKeyProtection,
} from './storage-key.js';

/** The logical tables of the store. */
export const STORE_TABLES = [
  'profile',
  'identities',
  'sessions',
  'prekeys',
  'signed-prekeys',
  'kyber-prekeys',
  'messages',
  'contacts',
  'groups',
  'archive-state',
  'archive-queue',
  'archive-uploads',
  'archive-receipts',
  'index-keys',
  'buckets',
  'processed-envelopes',
  'warnings',
  'send-outbox',
  'held-received',
] as const;
/** One of {@link STORE_TABLES}. */
export type StoreTable = (typeof STORE_TABLES)[number];

/**
 * Tables keyed by a sequence number (key = decimal seq = ord), each kept in its own SQL
 * table `<name>(seq INTEGER PRIMARY KEY, v)`: an append dirties one leaf page (a rowid
 * table keeps a ~1 KiB value in the leaf; the kv table's WITHOUT ROWID layout spills it to
 * an overflow page), range reads are sequential, and the row key needs no HMAC since the
 * seq is plaintext in either layout (it is the `ord` of an ordered kv row). Values are
 * encrypted the same way, with the seq in the AAD, so a row moved to another seq or table
 * does not open.
 */
export const SEQ_TABLES: ReadonlyMap<StoreTable, string> = new Map<StoreTable, string>([
  ['archive-queue', 'archive_queue'],
]);

/** File name of the database inside a profile folder. */
export const STORE_DB_FILE = 'device.db';
/** Schema version this code writes; migrations bring older files up to it. */
export const STORE_SCHEMA_VERSION = 2;

/** One row as read back. */
export interface StoreRow {
  readonly key: string;
  readonly value: Uint8Array;
  readonly ord: number | null;
}

interface SeqStatements {
  readonly get: Database.Statement;
  readonly put: Database.Statement;
  readonly del: Database.Statement;
  readonly after: Database.Statement;
  readonly last: Database.Statement;
  readonly count: Database.Statement;
}

/** Schema migrations, index = version reached. Each runs in a transaction. */
export const STORE_MIGRATIONS: readonly string[] = [
  '',
  `CREATE TABLE kv (
     tbl TEXT NOT NULL,
     id  BLOB NOT NULL,
     ord INTEGER,
     v   BLOB NOT NULL,
     PRIMARY KEY (tbl, id)
   ) WITHOUT ROWID;
   CREATE INDEX kv_ord ON kv (tbl, ord) WHERE ord IS NOT NULL;`,
  // Sequence tables (SEQ_TABLES); their old kv rows are moved over on open (moveSeqRows).
  `CREATE TABLE archive_queue (seq INTEGER PRIMARY KEY, v BLOB NOT NULL);`,
];

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > STORE_SCHEMA_VERSION)
    throw new ClientError('STORE_CORRUPT', `device.db has schema ${current}, newer than this software`);
  for (let v = current + 1; v <= STORE_SCHEMA_VERSION; v++) {
    db.transaction(() => {
      db.exec(STORE_MIGRATIONS[v]!);
      db.pragma(`user_version = ${v}`);
    })();
  }
}

/** Where a profile keeps its files. */
export function profilePaths(dir: string): { db: string; key: string } {
  return { db: join(dir, STORE_DB_FILE), key: join(dir, STORAGE_KEY_FILE) };
}

/** The encrypted key–value store of one device profile. Synchronous (better-sqlite3). */
export class LocalStore {
  readonly #db: Database.Database;
  readonly #cipher: RowCipher<StoreTable>;
  /** Write counter per table, bumped by every put and delete, and for all tables on rollback. */
  readonly #versions = new Map<StoreTable, number>();
  #closed = false;
  readonly #stmts: {
    get: Database.Statement;
    put: Database.Statement;
    del: Database.Statement;
    list: Database.Statement;
    listAfter: Database.Statement;
    count: Database.Statement;
  };
  /** Statements of each sequence table. */
  readonly #seq = new Map<StoreTable, SeqStatements>();

  private constructor(db: Database.Database, storageKey: Buffer) {
    this.#db = db;
    this.#cipher = new RowCipher(storageKey);
    this.#stmts = {
      get: db.prepare('SELECT v, ord FROM kv WHERE tbl = ? AND id = ?'),
      put: db.prepare('INSERT OR REPLACE INTO kv (tbl, id, ord, v) VALUES (?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM kv WHERE tbl = ? AND id = ?'),
      list: db.prepare('SELECT id, v, ord FROM kv WHERE tbl = ? ORDER BY ord, id LIMIT ?'),
      listAfter: db.prepare(
        'SELECT id, v, ord FROM kv WHERE tbl = ? AND ord IS NOT NULL AND ord > ? ORDER BY ord LIMIT ?',
      ),
      count: db.prepare('SELECT count(*) AS n FROM kv WHERE tbl = ?'),
    };
    for (const [table, sqlName] of SEQ_TABLES) {
      this.#seq.set(table, {
        get: db.prepare(`SELECT v FROM ${sqlName} WHERE seq = ?`),
        put: db.prepare(`INSERT OR REPLACE INTO ${sqlName} (seq, v) VALUES (?, ?)`),
        del: db.prepare(`DELETE FROM ${sqlName} WHERE seq = ?`),
        after: db.prepare(`SELECT seq, v FROM ${sqlName} WHERE seq > ? ORDER BY seq LIMIT ?`),
        last: db.prepare(`SELECT seq, v FROM ${sqlName} ORDER BY seq DESC LIMIT 1`),
        count: db.prepare(`SELECT count(*) AS n FROM ${sqlName}`),
      });
    }
  }

  /** Moves rows of sequence tables written by schema 1 (kv rows) into `seq`, once. */
  #moveSeqRows(): void {
    for (const table of SEQ_TABLES.keys()) {
      const rows = this.#db.prepare('SELECT id, v, ord FROM kv WHERE tbl = ?').all(table) as {
        id: Buffer;
        v: Buffer;
        ord: number | null;
      }[];
      if (rows.length === 0) continue;
      this.transaction(() => {
        for (const r of rows) {
          const { key, value } = this.#open(table, r.id, r.v);
          this.put(table, key, value, r.ord);
          this.#stmts.del.run(table, r.id);
        }
      });
    }
  }

  /** Creates a new profile folder (mode 0700) with a fresh storage key and an empty store. */
  static create(dir: string, protection: StorageKeyProtection, options: StorageKeyOptions = {}): LocalStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const paths = profilePaths(dir);
    if (existsSync(paths.db)) throw new ClientError('PROFILE_EXISTS', 'this folder already holds a profile');
    const key = createStorageKey(paths.key, protection, options);
    const store = LocalStore.#openDb(LocalStore.#lockDb(paths.db), key);
    store.put('profile', 'store-check', Buffer.from('custos-store-v1 check'));
    return store;
  }

  /**
   * Opens an existing profile; a wrong passphrase or key file is STORE_LOCKED, a profile
   * another store has open (another process, or this one) PROFILE_IN_USE. The lock comes
   * first: a profile in use is said so at once, before the key derivation.
   */
  static open(dir: string, passphrase?: string, options: StorageKeyOptions = {}): LocalStore {
    const paths = profilePaths(dir);
    if (!existsSync(paths.db) || !existsSync(paths.key))
      throw new ClientError('NOT_ENROLLED', 'no profile in this folder');
    const db = LocalStore.#lockDb(paths.db);
    let key: Buffer;
    try {
      key = openStorageKey(paths.key, passphrase, options);
    } catch (e) {
      db.close();
      throw e;
    }
    const store = LocalStore.#openDb(db, key);
    try {
      store.get('profile', 'store-check');
    } catch (e) {
      store.close();
      throw new ClientError('STORE_LOCKED', 'the storage key does not open this store', { cause: e });
    }
    return store;
  }

  /**
   * Fails PROFILE_IN_USE when another store (another process, or this one) holds the profile
   * open; otherwise takes the lock and lets it go again at once. A command asks this before it
   * prompts for a passphrase, so a user in a second terminal is not asked to type one for a
   * profile that cannot open. It does not reserve the profile: {@link open} takes the lock
   * again, and says PROFILE_IN_USE itself if another process took it in between.
   */
  static checkNotInUse(dir: string): void {
    const path = profilePaths(dir).db;
    if (!existsSync(path)) return;
    LocalStore.#lockDb(path).close();
  }

  /**
   * Opens the database holding an exclusive lock on it until {@link close}: one process per
   * profile, enforced. The in-memory caches keyed by {@link version} and libsignal's session
   * ratchets assume no other writer; two processes (`custos chat` and `custos send` on one
   * profile) would fork the ratchets. `locking_mode = EXCLUSIVE` set before the first access
   * makes the first read take SQLite's exclusive lock on the file and keep it; in WAL mode it
   * also makes SQLite use no shared-memory index (no `-shm`), so the lock covers every reader.
   * It is an fcntl lock, released by the OS when the process ends however it ends (kill -9
   * leaves nothing stale). A connection in the normal mode (an older client) holds a shared
   * lock while open, so it and this one exclude each other too. `timeout: 0`: a second opener
   * fails at once instead of retrying for better-sqlite3's default 5 s; once the lock is held
   * no other connection can make this one wait. Nothing else in the process may open
   * `device.db` while the store is open: closing any other descriptor of the file drops the
   * process's fcntl locks on it (SQLite guards only its own descriptors).
   */
  static #lockDb(path: string): Database.Database {
    const db = new Database(path, { timeout: 0 });
    try {
      chmodSync(path, 0o600);
      db.pragma('locking_mode = EXCLUSIVE');
      // The first access: takes the lock (and converts a new file to WAL).
      db.pragma('journal_mode = WAL');
      return db;
    } catch (e) {
      db.close();
      if (
        typeof (e as { code?: unknown }).code === 'string' &&
        (e as { code: string }).code.startsWith('SQLITE_BUSY')
      )
        throw new ClientError(
          'PROFILE_IN_USE',
          'another Custos process (for example `custos chat`) has this profile open: quit it first',
          { cause: e },
        );
      throw e;
    }
  }

  /** The store over a locked database (closed again when setting up fails: it holds the lock). */
  static #openDb(db: Database.Database, key: Buffer): LocalStore {
    let store: LocalStore | undefined;
    try {
      db.pragma('synchronous = FULL');
      // Freed pages are zeroed, so deleted ciphertext does not linger either.
      db.pragma('secure_delete = ON');
      migrate(db);
      store = new LocalStore(db, key);
      store.#moveSeqRows();
      return store;
    } catch (e) {
      if (store === undefined) db.close();
      else store.close();
      throw e;
    }
  }

  #check(): void {
    if (this.#closed) throw new ClientError('STORE_CLOSED', 'the local store is closed');
  }

  /** The `id` of a sequence-table row: the seq as 8 bytes (in the AAD, like a kv row id). */
  static #seqId(seq: number): Buffer {
    const id = Buffer.allocUnsafe(8);
    id.writeUInt32BE(Math.floor(seq / 2 ** 32), 0);
    id.writeUInt32BE(seq >>> 0, 4);
    return id;
  }

  /** The seq of a sequence-table key (its canonical decimal form), or undefined. */
  static #seqOf(key: string): number | undefined {
    const n = Number(key);
    return Number.isSafeInteger(n) && n >= 0 && String(n) === key ? n : undefined;
  }

  /** Seals a sequence-table value: the key inside is the decimal seq, as in a kv row. */
  #sealSeq(table: StoreTable, seq: number, value: Uint8Array): Buffer {
    return this.#cipher.seal(table, LocalStore.#seqId(seq), String(seq), value);
  }

  /** Opens a sequence-table value and checks it belongs to `seq` (a moved row fails here). */
  #openSeq(table: StoreTable, seq: number, sealed: Buffer): Uint8Array {
    const { key, value } = this.#cipher.open(table, LocalStore.#seqId(seq), sealed);
    if (key !== String(seq))
      throw new ClientError('STORE_CORRUPT', `a ${table} row is stored under the wrong key`);
    return value;
  }

  #bump(table: StoreTable): void {
    this.#versions.set(table, (this.#versions.get(table) ?? 0) + 1);
  }

  /** After a rollback every cached view may be stale: bump every table. */
  #bumpAll(): void {
    for (const t of STORE_TABLES) this.#bump(t);
  }

  /**
   * A counter that changes whenever `table` may have changed through this store (a write,
   * a delete, any rollback). In-memory caches of table contents compare it to stay exact;
   * they rely on this store being the profile's only open one, which the lock taken on open
   * enforces (PROFILE_IN_USE for any other, in this process or another).
   */
  version(table: StoreTable): number {
    return this.#versions.get(table) ?? 0;
  }

  #open(table: StoreTable, id: Buffer, sealed: Buffer): { key: string; value: Uint8Array } {
    const r = this.#cipher.open(table, id, sealed);
    if (!this.#cipher.rowId(table, r.key).equals(id))
      throw new ClientError('STORE_CORRUPT', `a ${table} row is stored under the wrong key`);
    return r;
  }

  /** The value under `key`, or undefined. */
  get(table: StoreTable, key: string): Uint8Array | undefined {
    this.#check();
    const sq = this.#seq.get(table);
    if (sq !== undefined) {
      const seq = LocalStore.#seqOf(key);
      if (seq === undefined) return undefined;
      const row = sq.get.get(seq) as { v: Buffer } | undefined;
      return row === undefined ? undefined : this.#openSeq(table, seq, row.v);
    }
    const id = this.#cipher.rowId(table, key);
    const row = this.#stmts.get.get(table, id) as { v: Buffer } | undefined;
    return row === undefined ? undefined : this.#open(table, id, row.v).value;
  }

  /** Writes `value` under `key` (replacing); `ord` orders rows of ordered tables. */
  put(table: StoreTable, key: string, value: Uint8Array, ord: number | null = null): void {
    this.#check();
    const sq = this.#seq.get(table);
    if (sq !== undefined) {
      const seq = LocalStore.#seqOf(key);
      if (seq === undefined || ord !== seq)
        throw new Error(`${table} rows are keyed by their seq (key = ord)`);
      this.#bump(table);
      sq.put.run(seq, this.#sealSeq(table, seq, value));
      return;
    }
    const id = this.#cipher.rowId(table, key);
    this.#bump(table);
    this.#stmts.put.run(table, id, ord, this.#cipher.seal(table, id, key, value));
  }

  /** Deletes `key`; true when a row was deleted. */
  delete(table: StoreTable, key: string): boolean {
    this.#check();
    this.#bump(table);
    const sq = this.#seq.get(table);
    if (sq !== undefined) {
      const seq = LocalStore.#seqOf(key);
      return seq !== undefined && sq.del.run(seq).changes > 0;
    }
    return this.#stmts.del.run(table, this.#cipher.rowId(table, key)).changes > 0;
  }

  /** Rows of `table` by `ord` (rows without ord last, in id order), at most `limit`. */
  list(table: StoreTable, limit = Number.MAX_SAFE_INTEGER): StoreRow[] {
    this.#check();
    if (this.#seq.has(table)) return this.listAfter(table, -1, limit);
    const rows = this.#stmts.list.all(table, limit) as { id: Buffer; v: Buffer; ord: number | null }[];
    return rows.map((r) => ({ ...this.#open(table, r.id, r.v), ord: r.ord }));
  }

  /** Ordered rows of `table` with ord > `after`, at most `limit`. */
  listAfter(table: StoreTable, after: number, limit: number): StoreRow[] {
    this.#check();
    const sq = this.#seq.get(table);
    if (sq !== undefined) {
      const rows = sq.after.all(after, limit) as { seq: number; v: Buffer }[];
      return rows.map((r) => ({ key: String(r.seq), value: this.#openSeq(table, r.seq, r.v), ord: r.seq }));
    }
    const rows = this.#stmts.listAfter.all(table, after, limit) as { id: Buffer; v: Buffer; ord: number }[];
    return rows.map((r) => ({ ...this.#open(table, r.id, r.v), ord: r.ord }));
  }

  /** The row of a sequence table with the highest seq, if any. */
  last(table: StoreTable): StoreRow | undefined {
    this.#check();
    const sq = this.#seq.get(table);
    if (sq === undefined) throw new Error(`${table} is not a sequence table`);
    const r = sq.last.get() as { seq: number; v: Buffer } | undefined;
    return r === undefined
      ? undefined
      : { key: String(r.seq), value: this.#openSeq(table, r.seq, r.v), ord: r.seq };
  }

  /** Number of rows in `table`. */
  count(table: StoreTable): number {
    this.#check();
    const sq = this.#seq.get(table);
    if (sq !== undefined) return (sq.count.get() as { n: number }).n;
    return (this.#stmts.count.get(table) as { n: number }).n;
  }

  /** Runs `fn` in one SQLite transaction (all or nothing). `fn` must be synchronous. */
  transaction<T>(fn: () => T): T {
    this.#check();
    try {
      return this.#db.transaction(fn)();
    } catch (e) {
      this.#bumpAll(); // better-sqlite3 rolled back (to the savepoint, when nested)
      throw e;
    }
  }

  /**
   * Like {@link transaction}, but the commit is not flushed to disk (WAL with `synchronous =
   * NORMAL`): it survives a crash of the process, while a power loss may undo it until the
   * next flushed commit (which flushes the WAL, this one included). Only for writes that are
   * safe to lose and redo: an upload acknowledgement (the upload is idempotent, so the device
   * just uploads that batch again). Inside another transaction it is that transaction.
   */
  transactionUnflushed<T>(fn: () => T): T {
    this.#check();
    if (this.#db.inTransaction) return this.transaction(fn);
    this.#db.pragma('synchronous = NORMAL');
    try {
      return this.transaction(fn);
    } finally {
      this.#db.pragma('synchronous = FULL');
    }
  }

  /**
   * Runs async `fn` inside one SQLite transaction: everything it writes (libsignal's session
   * updates included) commits together or not at all. Callers MUST serialise these (the
   * client runs one operation at a time), since the connection is shared.
   */
  async atomically<T>(fn: () => Promise<T>): Promise<T> {
    this.#check();
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const out = await fn();
      this.#db.exec('COMMIT');
      return out;
    } catch (e) {
      this.#bumpAll();
      if (this.#db.open && this.#db.inTransaction) this.#db.exec('ROLLBACK');
      throw e;
    }
  }

  /**
   * Copies committed pages from the WAL into the database file now (`PRAGMA
   * wal_checkpoint(PASSIVE)`, the checkpoint SQLite otherwise runs by itself inside the commit
   * that takes the WAL past 1,000 pages). Durability is unchanged: commits are already
   * durable in the WAL. Benchmarks call it between samples so that each sample pays for
   * writing back the pages it dirtied, instead of whichever sample crosses the threshold.
   */
  checkpointWal(): void {
    this.#check();
    this.#db.pragma('wal_checkpoint(PASSIVE)');
  }

  /** Reads a JSON value (json-codec.ts). */
  getJson<T>(table: StoreTable, key: string): T | undefined {
    const v = this.get(table, key);
    return v === undefined ? undefined : decodeJson<T>(v);
  }

  /** Writes a JSON value; Uint8Array fields survive the round trip. */
  putJson(table: StoreTable, key: string, value: unknown, ord: number | null = null): void {
    this.put(table, key, encodeJson(value), ord);
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the database and wipes the derived keys. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
    this.#cipher.wipe();
  }
}
