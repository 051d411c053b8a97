/**
 * A read-only look at a configured store for `custos doctor`: is it reachable, at which
 * schema version (against the migrations this build carries), and which log key each
 * organisation's log publishes. Never migrates, never creates a database file, never writes.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { StoreConfig } from '../config/load-config.js';
import { openPgDatabase } from './postgres/pg-database.js';
import { PG_MIGRATIONS } from './postgres/pg-migrations.js';
import { renderQuestionMarks, sql, type SqlExecutor, type SqlQuery } from './sql.js';
import { SQLITE_MIGRATIONS } from './sqlite/sqlite-migrations.js';

/** One organisation's log as the store records it. */
export interface ProbedLog {
  readonly orgId: string;
  readonly origin: string;
  readonly verifierKey: string;
  readonly treeSize: number;
}

/** What the probe saw. */
export interface StoreProbe {
  /** The highest applied migration (0: none). */
  readonly schemaVersion: number;
  /** The highest migration this build carries. */
  readonly expectedVersion: number;
  readonly logs: readonly ProbedLog[];
}

/** Thrown (as a plain Error with this name) when the SQLite database file does not exist. */
export const STORE_MISSING = 'STORE_MISSING';

async function read(db: Reader, expectedVersion: number): Promise<StoreProbe> {
  const hasTable = async (name: string): Promise<boolean> =>
    db.dialect === 'sqlite'
      ? (await db.get(sql`SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = ${name}`)) !==
        undefined
      : (await db.get(sql`SELECT 1 AS x FROM information_schema.tables WHERE table_name = ${name}`)) !==
        undefined;
  if (!(await hasTable('schema_migrations'))) return { schemaVersion: 0, expectedVersion, logs: [] };
  const v = await db.get<{ v: number | null }>(sql`SELECT MAX(version) AS v FROM schema_migrations`);
  const logs = (await hasTable('log_tree'))
    ? await db.all<{ org_id: string; origin: string; verifier_key: string; tree_size: number }>(
        sql`SELECT org_id, origin, verifier_key, tree_size FROM log_tree ORDER BY org_id`,
      )
    : [];
  return {
    schemaVersion: Number(v?.v ?? 0),
    expectedVersion,
    logs: logs.map((l) => ({
      orgId: l.org_id,
      origin: l.origin,
      verifierKey: l.verifier_key,
      treeSize: Number(l.tree_size),
    })),
  };
}

/** The reads the probe needs. */
type Reader = Pick<SqlExecutor, 'dialect' | 'get' | 'all'>;

/** A read-only SQLite reader (opened with `readonly`: it cannot write, create or migrate). */
function readOnlySqlite(path: string): { db: Reader; close: () => void } {
  const handle = new Database(path, { readonly: true, fileMustExist: true });
  const rows = (q: SqlQuery): unknown[] => handle.prepare(renderQuestionMarks(q)).all(...q.values);
  const db: Reader = {
    dialect: 'sqlite',
    all: <R extends object>(q: SqlQuery) => Promise.resolve(rows(q) as R[]),
    get: <R extends object>(q: SqlQuery) => Promise.resolve(rows(q)[0] as R | undefined),
  };
  return { db, close: () => handle.close() };
}

/** Probes the store read-only. Rejects when it is unreachable (the error names no URL). */
export async function probeStore(config: StoreConfig): Promise<StoreProbe> {
  if (config.kind === 'sqlite') {
    if (!existsSync(config.path)) {
      throw Object.assign(new Error(`no database at ${config.path}`), { name: STORE_MISSING });
    }
    const { db, close } = readOnlySqlite(config.path);
    try {
      return await read(db, SQLITE_MIGRATIONS.length);
    } finally {
      close();
    }
  }
  const db = openPgDatabase(config.url);
  try {
    return await read(db, PG_MIGRATIONS.length);
  } finally {
    await db.close();
  }
}
