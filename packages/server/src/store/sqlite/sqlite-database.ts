/**
 * SQLite through better-sqlite3 (synchronous) behind the asynchronous SqlDatabase
 * interface. One connection, so every operation and every transaction passes through one
 * queue: a transaction's callback may await, and nothing else runs on the connection
 * until it commits or rolls back.
 */
import Database from 'better-sqlite3';
import { SQLITE_BUSY_TIMEOUT_MS, SQLITE_SYNCHRONOUS } from '../../config/defaults.js';
import { renderQuestionMarks, type SqlDatabase, type SqlExecutor, type SqlQuery } from '../sql.js';

type Statement = Database.Statement<unknown[], unknown>;

/** Opens (creating if needed) a SQLite database in WAL mode with synchronous=FULL and foreign keys on. */
export function openSqliteDatabase(path: string): SqlDatabase {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${SQLITE_SYNCHRONOUS}`);
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${SQLITE_BUSY_TIMEOUT_MS}`);
  return new SqliteDatabase(db);
}

class DirectExecutor implements SqlExecutor {
  readonly dialect = 'sqlite' as const;
  private readonly cache = new Map<string, Statement>();

  constructor(private readonly db: Database.Database) {}

  private prepare(query: SqlQuery): Statement {
    const text = renderQuestionMarks(query);
    let stmt = this.cache.get(text);
    if (stmt === undefined) {
      stmt = this.db.prepare(text);
      this.cache.set(text, stmt);
    }
    return stmt;
  }

  async all<R extends object>(query: SqlQuery): Promise<R[]> {
    return this.prepare(query).all(...query.values) as R[];
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

class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const;
  private readonly direct: DirectExecutor;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly db: Database.Database) {
    this.direct = new DirectExecutor(db);
  }

  /** Runs `fn` when everything queued before it has finished. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(() => {
      if (this.closed) throw new Error('the SQLite store is closed');
      return fn();
    });
    this.queue = result.catch(() => undefined);
    return result;
  }

  all<R extends object>(query: SqlQuery): Promise<R[]> {
    return this.exclusive(() => this.direct.all<R>(query));
  }

  get<R extends object>(query: SqlQuery): Promise<R | undefined> {
    return this.exclusive(() => this.direct.get<R>(query));
  }

  run(query: SqlQuery): Promise<number> {
    return this.exclusive(() => this.direct.run(query));
  }

  exec(ddl: string): Promise<void> {
    return this.exclusive(() => this.direct.exec(ddl));
  }

  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      // IMMEDIATE takes the write lock now, so a second process (a backup) cannot make us fail mid-way.
      this.db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.direct);
        this.db.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
        throw e;
      }
    });
  }

  async close(): Promise<void> {
    await this.exclusive(async () => {
      this.closed = true;
      this.db.close();
    });
  }
}
