/**
 * Test support: fresh store backends for the contract suite, route tests and benches.
 * PostgreSQL runs only when CUSTOS_TEST_PG_URL names a role that may create databases;
 * each caller gets its own database, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { StoreConfig } from '../config/load-config.js';
import { openStore } from '../store/open-store.js';
import { openPgDatabase } from '../store/postgres/pg-database.js';
import { sql, type SqlDatabase } from '../store/sql.js';
import { openSqliteDatabase } from '../store/sqlite/sqlite-database.js';
import type { StoreBackend } from '../store/stores.js';

/** The environment variable naming the PostgreSQL test role. */
export const TEST_PG_URL_ENV = 'CUSTOS_TEST_PG_URL';

/** Why the PostgreSQL half is skipped, or null when it runs. */
export const PG_SKIP_REASON: string | null =
  process.env[TEST_PG_URL_ENV] === undefined || process.env[TEST_PG_URL_ENV] === ''
    ? `${TEST_PG_URL_ENV} is unset: PostgreSQL half skipped (bash .ci/run sets it)`
    : null;

/** A throw-away database on the test server. */
export interface PgTestDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/** Creates a fresh, empty PostgreSQL database; `drop` removes it. */
export async function createPgTestDatabase(baseUrl: string): Promise<PgTestDatabase> {
  // Identifiers cannot be bound as parameters; this one is built from hex digits only.
  const name = `custos_test_${randomBytes(8).toString('hex')}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await dropDatabase(c, name);
      } finally {
        await c.end();
      }
    },
  };
}

/** How long a drop waits for other sessions (an autovacuum worker, say) to leave the database. */
const DROP_RETRY_MS = 15_000;
const DROP_RETRY_STEP_MS = 250;
/** SQLSTATE object_in_use: "database … is being accessed by other users". */
const OBJECT_IN_USE = '55006';

/**
 * Drops a test database. `WITH (FORCE)` would fail outright when a backend of another role
 * (an autovacuum worker) is on the database at that moment, because this role may not
 * terminate it; so only this role's own leftover sessions are terminated, and a plain drop
 * (which asks autovacuum to leave) is retried while the database is still in use.
 */
async function dropDatabase(c: pg.Client, name: string): Promise<void> {
  const deadline = Date.now() + DROP_RETRY_MS;
  for (;;) {
    await c.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND usename = current_user AND pid <> pg_backend_pid()',
      [name],
    );
    try {
      await c.query(`DROP DATABASE IF EXISTS ${name}`);
      return;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== OBJECT_IN_USE || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, DROP_RETRY_STEP_MS));
    }
  }
}

/** A backend under test with its clean-up. */
export interface TestBackend {
  readonly stores: StoreBackend;
  /** Where the store lives, for a second connection (snapshots). */
  readonly config: StoreConfig;
  dispose(): Promise<void>;
}

/** Opens a fresh SQLite store in a temporary folder. */
export async function openTestSqlite(): Promise<TestBackend> {
  const dir = mkdtempSync(join(tmpdir(), 'custos-store-'));
  const config: StoreConfig = { kind: 'sqlite', path: join(dir, 'test.sqlite') };
  const stores = await openStore(config);
  return {
    stores,
    config,
    async dispose() {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Opens a fresh PostgreSQL store in its own database (requires CUSTOS_TEST_PG_URL). */
export async function openTestPostgres(): Promise<TestBackend> {
  const base = process.env[TEST_PG_URL_ENV];
  if (base === undefined || base === '') throw new Error(`${TEST_PG_URL_ENV} is unset`);
  const db = await createPgTestDatabase(base);
  const config: StoreConfig = { kind: 'postgres', url: db.url };
  const stores = await openStore(config);
  return {
    stores,
    config,
    async dispose() {
      await stores.close();
      await db.drop();
    },
  };
}

/** The backends to test: SQLite always, PostgreSQL when configured. */
export const TEST_BACKENDS: readonly {
  name: 'sqlite' | 'postgres';
  open: () => Promise<TestBackend>;
  skip: string | null;
}[] = [
  { name: 'sqlite', open: openTestSqlite, skip: null },
  { name: 'postgres', open: openTestPostgres, skip: PG_SKIP_REASON },
];

/** Takes canonical dumps of every table over a second connection of its own. */
export interface StoreSnapshotter {
  /** Every row of every table, canonically ordered, as one string. */
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A value that differs whenever anything may have been committed to the store since it was
 * last read (it may also differ when nothing was: then the dump is only taken again).
 *
 * SQLite: `PRAGMA data_version`, which SQLite changes on this connection whenever another
 * connection commits to the file (the snapshotter never writes, so every commit counts).
 * PostgreSQL: the cluster's current snapshot (xmin:xmax:in-progress ids). A write needs a
 * transaction id, and when one commits (or aborts) it leaves the in-progress list or moves
 * xmax (latest completed + 1); equal snapshots therefore mean no transaction that wrote
 * anything ended in between, in any database of the cluster (another test's write only
 * costs a fresh dump). Sequences advance without a transaction id, but no dump reads them.
 */
function changeToken(db: SqlDatabase): Promise<string> {
  return db.dialect === 'sqlite'
    ? db.get<{ data_version: number }>(sql`PRAGMA data_version`).then((r) => `${r?.data_version}`)
    : db.get<{ s: string }>(sql`SELECT pg_current_snapshot()::text AS s`).then((r) => `${r?.s}`);
}

/**
 * One row as text. Byte columns become `{"b64": …}` before JSON.stringify sees them: a Buffer's
 * own JSON is an array of numbers, and building and printing those arrays for every prekey,
 * log entry and relay message was most of a dump's time. Equal bytes give equal text and any
 * changed byte changes it, and an object never reads like a text column's (quoted) value.
 */
function rowText(row: Record<string, unknown>): string {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row))
    out[k] =
      v instanceof Uint8Array
        ? { b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') }
        : typeof v === 'bigint'
          ? v.toString()
          : v;
  return JSON.stringify(out);
}

/** Every row of every table of `db`, canonically ordered, as one string. */
async function dump(db: SqlDatabase): Promise<string> {
  const names =
    db.dialect === 'sqlite'
      ? await db.all<{ name: string }>(
          sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
        )
      : await db.all<{ name: string }>(
          sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
        );
  const out: Record<string, string[]> = {};
  for (const { name } of names) {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unexpected table name ${name}`);
    // Identifiers cannot be bound; this one comes from the catalogue and matched the pattern above.
    const rows = await db.all<Record<string, unknown>>({
      fragments: [`SELECT * FROM ${name}`],
      values: [],
    });
    out[name] = rows.map(rowText).sort();
  }
  return JSON.stringify(out);
}

/**
 * Opens a snapshotter on the store at `config`, so tests can prove that a refused request
 * changed nothing anywhere (including tables added by later modules).
 *
 * A dump is taken again only when the store's change token (above) moved since the last one;
 * otherwise the last dump is returned, which is what a new dump would read. The token is read
 * before the dump, so a commit racing with the dump moves it for the next call.
 */
export function openSnapshotter(config: StoreConfig): StoreSnapshotter {
  const db = config.kind === 'sqlite' ? openSqliteDatabase(config.path) : openPgDatabase(config.url);
  let last: { token: string; dump: string } | undefined;
  return {
    async snapshot() {
      const token = await changeToken(db);
      if (last?.token !== token) last = { token, dump: await dump(db) };
      return last.dump;
    },
    close: () => db.close(),
  };
}
