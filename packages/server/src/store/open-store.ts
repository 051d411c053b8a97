/**
 * Opens a store backend: SQLite (embedded default) or PostgreSQL, both migrated to the
 * latest schema, both exposing the same `Stores` interfaces over one SQL layer.
 */
import { dirname, join } from 'node:path';
import { BLOB_DIR_NAME } from '../config/messaging-defaults.js';
import type { StoreConfig } from '../config/load-config.js';
import {
  SqlAuditPendingStore,
  SqlAuthChallengeStore,
  SqlAuthTokenStore,
  SqlBootstrapStore,
  SqlEnrolmentCodeStore,
} from './auth-stores.js';
import { SqlArchiveStore } from './archive-stores.js';
import { SqlBlobStore } from './blob-store.js';
import { SqlBucketStore } from './bucket-stores.js';
import { SqlDeviceStore, SqlOrgStore, SqlPrekeyStore, SqlUserStore } from './directory-stores.js';
import type { BlobContentStore } from './messaging-stores.js';
import { SqlBlobContentStore } from './postgres/pg-blob-content.js';
import { SqlPrekeyClaimStore } from './prekey-claim-store.js';
import { SqlRelayQueueStore } from './relay-queue-store.js';
import { FsBlobContentStore } from './sqlite/fs-blob-content.js';
import { SqlLogStore } from './log-stores.js';
import { SqlSearchStore } from './search-stores.js';
import { SqlDispositionStore } from './disposition-stores.js';
import { SqlCompletenessStore } from './completeness-stores.js';
import { SqlReviewStore } from './review-stores.js';
import { SqlHoldStore } from './hold-stores.js';
import { migrate } from './migrate.js';
import { openPgDatabase } from './postgres/pg-database.js';
import { PG_MIGRATIONS } from './postgres/pg-migrations.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';
import { openSqliteDatabase, type SqliteOptions } from './sqlite/sqlite-database.js';
import { SQLITE_MIGRATIONS } from './sqlite/sqlite-migrations.js';
import type { StoreBackend, Stores } from './stores.js';

/** Binds every store to one executor; `withTransaction` is supplied by the caller. */
function bindStores(
  db: SqlExecutor,
  withTransaction: Stores['withTransaction'],
  blobContent: (db: SqlExecutor) => BlobContentStore,
): Stores {
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
    prekeyClaims: new SqlPrekeyClaimStore(db),
    relayQueue: new SqlRelayQueueStore(db),
    blobs: new SqlBlobStore(db, blobContent(db)),
    log: new SqlLogStore(db),
    archive: new SqlArchiveStore(db),
    buckets: new SqlBucketStore(db),
    search: new SqlSearchStore(db),
    disposition: new SqlDispositionStore(db),
    completeness: new SqlCompletenessStore(db),
    review: new SqlReviewStore(db),
    holds: new SqlHoldStore(db),
    withTransaction,
  };
}

/**
 * Wraps an already-migrated SqlDatabase as a StoreBackend. Blob content goes to files in
 * `blobDir` when given (SQLite), else to the `blob_contents` table (PostgreSQL).
 */
export function storesOver(db: SqlDatabase, kind: StoreBackend['kind'], blobDir?: string): StoreBackend {
  const files = blobDir === undefined ? null : new FsBlobContentStore(blobDir);
  const blobContent = (ex: SqlExecutor): BlobContentStore => files ?? new SqlBlobContentStore(ex);
  const withTransaction: Stores['withTransaction'] = (fn, onCommitted) => {
    const committed: (() => void)[] = onCommitted === undefined ? [] : [onCommitted];
    return db.transaction(
      (tx) => {
        // Nested calls join the outer transaction instead of deadlocking on the connection;
        // what they want run on commit runs when it commits.
        const join: Stores['withTransaction'] = (inner, then) => {
          if (then !== undefined) committed.push(then);
          return inner(txStores);
        };
        const txStores: Stores = bindStores(tx, join, blobContent);
        return fn(txStores);
      },
      () => {
        for (const then of committed) then();
      },
    );
  };
  const committed =
    db.committedReads === undefined ? {} : { committed: { devices: new SqlDeviceStore(db.committedReads) } };
  return { ...bindStores(db, withTransaction, blobContent), ...committed, kind, close: () => db.close() };
}

/**
 * What the opener hears of a store's background work (the store itself logs nothing), and a
 * test seam; both concern SQLite only.
 */
export type OpenStoreOptions = Pick<SqliteOptions, 'onCheckpointWorkerFailure' | 'checkpointWorkerSource'>;

/** Opens the configured store and brings its schema up to date. */
export async function openStore(config: StoreConfig, options: OpenStoreOptions = {}): Promise<StoreBackend> {
  if (config.kind === 'sqlite') {
    const db = openSqliteDatabase(config.path, options);
    await migrate(db, SQLITE_MIGRATIONS);
    // Blobs sit beside the database file: `<data>/blobs/` for the default layout.
    return storesOver(db, 'sqlite', join(dirname(config.path), BLOB_DIR_NAME));
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
