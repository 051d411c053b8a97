/**
 * Cheap "did this request change the store?" checks for the route fuzzer, over a second
 * connection of its own.
 *
 * SQLite: `PRAGMA data_version` on a separate connection changes whenever any other
 * connection commits (SQLite's documented contract), so an unchanged value proves that no
 * transaction committed — nothing in any table can differ. Only when it did change are all
 * tables dumped and compared with the dump taken at the mark, to name what changed (a
 * commit that rewrote identical rows leaves the content byte-for-byte equal and is not a change).
 * PostgreSQL has no such counter: every check dumps every table (use fewer cases there).
 */
import Database from 'better-sqlite3';
import type { StoreConfig } from '../config/load-config.js';
import { openPgDatabase } from '../store/postgres/pg-database.js';
import { sql } from '../store/sql.js';

/** Watches a store for changes between a mark and a check. */
export interface StoreWatch {
  /** Records the current state as the one `changedTables` compares against. */
  mark(): Promise<void>;
  /** The tables whose rows differ from the mark (empty when the store is unchanged). */
  changedTables(): Promise<string[]>;
  close(): Promise<void>;
}

type Dump = Map<string, string>;

function rowText(r: Record<string, unknown>): string {
  return JSON.stringify(r, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    // Buffers serialise as {type, data}; hex is shorter and just as exact.
    if (v !== null && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer') {
      return `hex:${Buffer.from((v as { data: number[] }).data).toString('hex')}`;
    }
    return v;
  });
}

function diff(a: Dump, b: Dump): string[] {
  const names = new Set([...a.keys(), ...b.keys()]);
  return [...names].filter((n) => a.get(n) !== b.get(n)).sort();
}

const TABLE_NAME = /^[a-z_][a-z0-9_]*$/;

function sqliteWatch(path: string): StoreWatch {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  const version = (): number => db.pragma('data_version', { simple: true }) as number;
  const dump = (): Dump => {
    const out: Dump = new Map();
    const tables = db
      .prepare(
        `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
      )
      .all() as { name: string }[];
    for (const { name } of tables) {
      if (!TABLE_NAME.test(name)) throw new Error(`unexpected table name ${name}`);
      // Identifiers cannot be bound; this one comes from the catalogue and matched the pattern.
      const rows = db.prepare(`SELECT * FROM ${name}`).all() as Record<string, unknown>[];
      out.set(name, rows.map(rowText).sort().join('\n'));
    }
    return out;
  };
  let markVersion = -1;
  let markDump: Dump = new Map();
  return {
    async mark() {
      // Dumps only when the store moved since the last dump (after accepted requests).
      const now = version();
      if (now !== markVersion) {
        markDump = dump();
        markVersion = now;
      }
    },
    async changedTables() {
      if (version() === markVersion) return [];
      // Something committed: compare contents with the state at the mark.
      return diff(markDump, dump());
    },
    async close() {
      db.close();
    },
  };
}

function postgresWatch(url: string): StoreWatch {
  const db = openPgDatabase(url);
  const dump = async (): Promise<Dump> => {
    const out: Dump = new Map();
    const tables = await db.all<{ name: string }>(
      sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    );
    for (const { name } of tables) {
      if (!TABLE_NAME.test(name)) throw new Error(`unexpected table name ${name}`);
      const rows = await db.all<Record<string, unknown>>({
        fragments: [`SELECT * FROM ${name}`],
        values: [],
      });
      out.set(name, rows.map(rowText).sort().join('\n'));
    }
    return out;
  };
  let markDump: Dump = new Map();
  return {
    async mark() {
      markDump = await dump();
    },
    async changedTables() {
      return diff(markDump, await dump());
    },
    close: () => db.close(),
  };
}

/** Opens a watch on the store at `config`. */
export function openStoreWatch(config: StoreConfig): StoreWatch {
  return config.kind === 'sqlite' ? sqliteWatch(config.path) : postgresWatch(config.url);
}
