/**
 * Opens a store backend: SQLite (embedded default) or PostgreSQL, both migrated to the
 * latest schema, both exposing the same `Stores` interfaces over one SQL layer.
 */
import type { StoreConfig } from '../config/load-config.js';
import {
  SqlAuditPendingStore,
  SqlAuthChallengeStore,
  SqlAuthTokenStore,
  SqlBootstrapStore,
  SqlEnrolmentCodeStore,
} from './auth-stores.js';
import { SqlDeviceStore, SqlOrgStore, SqlPrekeyStore, SqlUserStore } from './directory-stores.js';
import { migrate } from './migrate.js';
import { openPgDatabase } from './postgres/pg-database.js';
import { PG_MIGRATIONS } from './postgres/pg-migrations.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';
import { openSqliteDatabase } from './sqlite/sqlite-database.js';
import { SQLITE_MIGRATIONS } from './sqlite/sqlite-migrations.js';
import type { StoreBackend, Stores } from './stores.js';

/** Binds every store to one executor; `withTransaction` is supplied by the caller. */
function bindStores(db: SqlExecutor, withTransaction: Stores['withTransaction']): Stores {
  return {
    orgs: new SqlOrgStore(db),
    users: new SqlUserStore(db),
    devices: new SqlDeviceStore(db),
    prekeys: new SqlPrekeyStore(db),
    enrolmentCodes: new SqlEnrolmentCodeStore(db),
    authChallenges: new SqlAuthChallengeStore(db),
    authTokens: new SqlAuthTokenStore(db),
    bootstrap: new SqlBootstrapStore(db),
    auditPending: new SqlAuditPendingStore(db),
    withTransaction,
  };
}

/** Wraps an already-migrated SqlDatabase as a StoreBackend. */
export function storesOver(db: SqlDatabase, kind: StoreBackend['kind']): StoreBackend {
  const withTransaction: Stores['withTransaction'] = (fn) =>
    db.transaction((tx) => {
      // Nested calls join the outer transaction instead of deadlocking on the connection.
      const txStores: Stores = bindStores(tx, (inner) => inner(txStores));
      return fn(txStores);
    });
  return { ...bindStores(db, withTransaction), kind, close: () => db.close() };
}

/** Opens the configured store and brings its schema up to date. */
export async function openStore(config: StoreConfig): Promise<StoreBackend> {
  if (config.kind === 'sqlite') {
    const db = openSqliteDatabase(config.path);
    await migrate(db, SQLITE_MIGRATIONS);
    return storesOver(db, 'sqlite');
  }
  const db = openPgDatabase(config.url);
  try {
    await migrate(db, PG_MIGRATIONS);
  } catch (e) {
    await db.close();
    throw e;
  }
  return storesOver(db, 'postgres');
}
