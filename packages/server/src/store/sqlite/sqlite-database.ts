/**
 * SQLite through better-sqlite3 (synchronous) behind the asynchronous SqlDatabase
 * interface. One connection, so every operation and every transaction passes through one
 * queue: a transaction's callback may await, and nothing else runs on the connection
 * until it commits or rolls back.
 *
 * Durability is that of SQLITE_SYNCHRONOUS (FULL: an acknowledged commit survives power
 * loss) but the two slow parts of it run off the event loop: the per-commit WAL sync
 * (wal-sync.ts; the queue moves on to the next transaction while a commit's sync runs, a
 * commit made during a sync starts its own at once, up to three, and commits waiting
 * together share one) and WAL checkpoints (wal-checkpointer.ts, a worker
 * thread). A transaction, write or read resolves only once every commit it could have seen
 * is durable, so nothing that could still be lost is ever acknowledged — and shown only
 * where the wait would sit on the relay's delivery path: a transaction's `onCommitted` runs
 * before its sync (the relay pushes committed envelopes from it), and `committedReads`, a
 * second read-only connection, sees what is committed at once (the relay's revocation
 * re-check).
 */
import { resolve as resolvePath } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_BUSY_TIMEOUT_MS, SQLITE_CACHE_KIB, SQLITE_SYNCHRONOUS } from '../../config/defaults.js';
import { renderQuestionMarks, type SqlDatabase, type SqlExecutor, type SqlQuery } from '../sql.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { KeptFileSync, WalSync, type FileSync } from './wal-sync.js';

type Statement = Database.Statement<unknown[], unknown>;

/** WAL pages after which the main connection checkpoints itself if the checkpoint worker failed (SQLite's default). */
const FALLBACK_AUTOCHECKPOINT_PAGES = 1000;
/**
 * Backstop while the worker runs: under continuous commits its PASSIVE passes never find the
 * WAL fully copied (frames arrive during each pass), so SQLite never restarts the WAL and it
 * grows without bound (4.7 GB in a 1,000,000-record load). Past this many pages the committing
 * connection checkpoints itself once (on the event loop, but only when the worker fell behind),
 * after which the next writer restarts the WAL from its start. 16,384 pages = 64 MiB.
 */
export const WAL_BACKSTOP_PAGES = 16_384;
/** The WAL is truncated to this size when SQLite reuses it, so a burst does not hold disk for ever. */
const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/** What the caller hears of the checkpoint worker, and test seams. */
export interface SqliteOptions {
  /**
   * Called once if the checkpoint worker failed, after automatic checkpoints are back on the
   * main connection (durable as before, but checkpoints then run inside a COMMIT, on the event
   * loop). `cause` is the worker's error: its message may quote the database path.
   */
  readonly onCheckpointWorkerFailure?: (cause: unknown) => void;
  /** Replaces the checkpoint worker's source (tests make the worker fail). */
  readonly checkpointWorkerSource?: string;
  /** Replaces the WAL fdatasync (tests hold a commit between COMMIT and durability). */
  readonly syncFile?: FileSync;
  /** Replaces {@link WAL_BACKSTOP_PAGES} (tests bound the WAL with a small value). */
  readonly walBackstopPages?: number;
  /** Replaces the most WAL syncs running at once (wal-sync.ts: WAL_SYNCS_IN_FLIGHT, 1; tests of overlapping syncs). */
  readonly walSyncsInFlight?: number;
}

/**
 * Opens (creating if needed) a SQLite database in WAL mode with foreign keys on, durable
 * as SQLITE_SYNCHRONOUS says (see the module comment for how FULL is kept off the event loop).
 */
export function openSqliteDatabase(path: string, options: SqliteOptions = {}): SqlDatabase {
  const db = new Database(path);
  const mode = db.pragma('journal_mode = WAL', { simple: true });
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  // Negative: a size in KiB rather than in pages.
  db.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
  if (mode !== 'wal' || SQLITE_SYNCHRONOUS !== 'FULL') {
    // In-memory databases (tests) have no WAL: SQLite's own setting is all there is.
    db.pragma(`synchronous = ${SQLITE_SYNCHRONOUS}`);
    return new SqliteDatabase(db, null);
  }
  // NORMAL = FULL without the per-commit WAL sync, which WalSync performs instead.
  db.pragma('synchronous = NORMAL');
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  db.pragma(`wal_autocheckpoint = ${options.walBackstopPages ?? WAL_BACKSTOP_PAGES}`);
  const file = resolvePath(path);
  const checkpointer = new WalCheckpointer(
    file,
    SQLITE_BUSY_TIMEOUT_MS,
    (cause) => {
      if (db.open) db.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
      options.onCheckpointWorkerFailure?.(cause);
    },
    options.checkpointWorkerSource === undefined ? {} : { workerSource: options.checkpointWorkerSource },
  );
  // WAL lets this reader see the last commit while the writer works; it never writes.
  const reader = new Database(file, { readonly: true, fileMustExist: true });
  reader.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  // Opens nothing until its first sync (never, when a test replaced the sync).
  const walFile = new KeptFileSync();
  return new SqliteDatabase(db, {
    sync: new WalSync(`${file}-wal`, options.syncFile ?? walFile.sync, undefined, options.walSyncsInFlight),
    walFile,
    checkpointer,
    reader,
  });
}

class DirectExecutor implements SqlExecutor {
  readonly dialect = 'sqlite' as const;
  private readonly cache = new Map<string, Statement>();
  /** Statements in raw mode (rows as arrays): better-sqlite3 keeps the mode per statement. */
  private readonly rawCache = new Map<string, Statement>();

  constructor(private readonly db: Database.Database) {}

  private prepare(query: SqlQuery, raw = false): Statement {
    const text = renderQuestionMarks(query);
    const cache = raw ? this.rawCache : this.cache;
    let stmt = cache.get(text);
    if (stmt === undefined) {
      stmt = this.db.prepare(text);
      if (raw) stmt.raw(true);
      cache.set(text, stmt);
    }
    return stmt;
  }

  async all<R extends object>(query: SqlQuery): Promise<R[]> {
    return this.prepare(query).all(...query.values) as R[];
  }

  async rows(query: SqlQuery): Promise<unknown[][]> {
    return this.prepare(query, true).all(...query.values) as unknown[][];
  }

  async get<R extends object>(query: SqlQuery): Promise<R | undefined> {
    return this.prepare(query).get(...query.values) as R | undefined;
  }

  async run(query: SqlQuery): Promise<number> {
    return this.prepare(query).run(...query.values).changes;
  }

  async exec(ddl: string): Promise<void> {
    this.db.exec(ddl);
  }
}

interface Durability {
  readonly sync: WalSync;
  /** The WAL's kept descriptor. */
  readonly walFile: KeptFileSync;
  readonly checkpointer: WalCheckpointer;
  /** The read-only connection behind `committedReads`. */
  readonly reader: Database.Database;
}

/**
 * Reads on the read-only connection: each statement sees the last committed transaction,
 * runs at once (better-sqlite3 is synchronous; nothing queues) and waits for no WAL sync.
 */
class CommittedReader implements SqlExecutor {
  readonly dialect = 'sqlite' as const;
  private readonly direct: DirectExecutor;

  constructor(private readonly db: Database.Database) {
    this.direct = new DirectExecutor(db);
  }

  private check(): void {
    if (!this.db.open) throw new Error('the SQLite store is closed');
  }

  async all<R extends object>(query: SqlQuery): Promise<R[]> {
    this.check();
    return this.direct.all<R>(query);
  }

  async rows(query: SqlQuery): Promise<unknown[][]> {
    this.check();
    return this.direct.rows(query);
  }

  async get<R extends object>(query: SqlQuery): Promise<R | undefined> {
    this.check();
    return this.direct.get<R>(query);
  }

  run(): Promise<number> {
    return Promise.reject(new Error('committed reads cannot write'));
  }

  exec(): Promise<void> {
    return Promise.reject(new Error('committed reads cannot write'));
  }
}

class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly direct: DirectExecutor;
  private readonly totalChanges: Database.Statement<unknown[], number>;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  readonly committedReads?: SqlExecutor;

  constructor(
    private readonly db: Database.Database,
    private readonly durability: Durability | null,
  ) {
    this.direct = new DirectExecutor(db);
    this.totalChanges = db.prepare<unknown[], number>('SELECT total_changes()').pluck();
    if (durability !== null) this.committedReads = new CommittedReader(durability.reader);
  }

  /**
   * Runs `fn` when everything queued before it has finished, then (outside the queue, so the
   * next operation can start) waits until every commit `fn` could have seen or made is durable.
   * `write` counts the operation as a commit even when it changed no rows (DDL).
   */
  private exclusive<T>(fn: () => Promise<T>, write = false): Promise<T> {
    const ran = this.queue.then(async () => {
      if (this.closed) throw new Error('the SQLite store is closed');
      const before = this.durability === null ? 0 : this.totalChanges.get();
      const value = await fn();
      return { value, commit: this.afterCommit(before, write) };
    });
    this.queue = ran.catch(() => undefined);
    return ran.then(async ({ value, commit }) => {
      await this.durable(commit);
      return value;
    });
  }

  /** The commit number a finished operation must wait for; notes a new commit if it wrote. */
  private afterCommit(changesBefore: number | undefined, write: boolean): number {
    const d = this.durability;
    if (d === null || !this.db.open) return 0;
    if (!write && this.totalChanges.get() === changesBefore) return d.sync.lastCommit;
    d.checkpointer.noteCommit();
    return d.sync.noteCommit();
  }

  private async durable(commit: number): Promise<void> {
    const d = this.durability;
    if (d !== null && !d.sync.isDurable(commit)) await d.sync.durable(commit);
  }

  all<R extends object>(query: SqlQuery): Promise<R[]> {
    return this.exclusive(() => this.direct.all<R>(query));
  }

  rows(query: SqlQuery): Promise<unknown[][]> {
    return this.exclusive(() => this.direct.rows(query));
  }

  get<R extends object>(query: SqlQuery): Promise<R | undefined> {
    return this.exclusive(() => this.direct.get<R>(query));
  }

  run(query: SqlQuery): Promise<number> {
    return this.exclusive(() => this.direct.run(query));
  }

  exec(ddl: string): Promise<void> {
    return this.exclusive(() => this.direct.exec(ddl), true);
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>, onCommitted?: () => void): Promise<T> {
    return this.exclusive(async () => {
      // IMMEDIATE takes the write lock now, so a second process (a backup) cannot make us fail mid-way.
      this.db.exec('BEGIN IMMEDIATE');
      let result: T;
      try {
        result = await fn(this.direct);
        this.db.exec('COMMIT');
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
      // Committed (the next transaction sees it), its WAL sync not yet begun: see Stores.withTransaction.
      onCommitted?.();
      return result;
    });
  }

  async close(): Promise<void> {
    // Refuse new work first: every operation queued before this point runs; later ones fail
    // as closed, so no commit can follow. Then the syncs of those commits (the WAL must exist
    // while they run: closing the last connection deletes it, and a sync racing that would
    // fail a write SQLite has kept), then the checkpoint worker; the main connection closes
    // last and checkpoints what is left.
    const refused = this.queue.then(() => {
      this.closed = true;
    });
    this.queue = refused;
    await refused;
    const d = this.durability;
    if (d !== null) {
      await d.sync.durable(d.sync.lastCommit).catch(() => undefined);
      await d.sync.quiesce();
      d.walFile.close();
      await d.checkpointer.close();
      if (d.reader.open) d.reader.close();
    }
    if (this.db.open) this.db.close();
  }
}
