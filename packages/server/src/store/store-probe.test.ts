/**
 * The read-only store probe behind `custos doctor`, on SQLite and PostgreSQL: a migrated
 * store reports the build's migration level and no logs; a store behind the build reports
 * its lower level; an unreachable store or missing file rejects without naming a URL; the
 * probe writes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { migrate } from './migrate.js';
import { PG_MIGRATIONS } from './postgres/pg-migrations.js';
import { openPgDatabase } from './postgres/pg-database.js';
import { SQLITE_MIGRATIONS } from './sqlite/sqlite-migrations.js';
import { openSqliteDatabase } from './sqlite/sqlite-database.js';
import { probeStore, STORE_MISSING } from './store-probe.js';
import {
  createPgTestDatabase,
  openSnapshotter,
  TEST_BACKENDS,
  TEST_PG_URL_ENV,
} from '../testing/test-stores.js';
import type { StoreConfig } from '../config/load-config.js';

// Creating and migrating a PostgreSQL database takes seconds on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

describe.each(TEST_BACKENDS)('probeStore ($name)', ({ name, open, skip }) => {
  it.skipIf(skip !== null)(
    'reports the migration level and logs of a migrated store, and writes nothing',
    async () => {
      const b = await open();
      try {
        const snap = openSnapshotter(b.config);
        const before = await snap.snapshot();
        const probe = await probeStore(b.config);
        expect(probe.schemaVersion).toBe(probe.expectedVersion);
        expect(probe.expectedVersion).toBe((name === 'sqlite' ? SQLITE_MIGRATIONS : PG_MIGRATIONS).length);
        expect(probe.logs).toEqual([]);
        expect(await snap.snapshot()).toBe(before);
        await snap.close();
      } finally {
        await b.dispose();
      }
    },
  );
});

describe('probeStore behind the build, and unreachable', () => {
  it('SQLite: a store migrated part-way reports its level; a missing file rejects as STORE_MISSING', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-probe-'));
    try {
      const path = join(dir, 'custos.sqlite');
      const db = openSqliteDatabase(path);
      await migrate(db, SQLITE_MIGRATIONS, 3);
      await db.close();
      const probe = await probeStore({ kind: 'sqlite', path });
      expect(probe.schemaVersion).toBe(3);
      await expect(probeStore({ kind: 'sqlite', path: join(dir, 'none.sqlite') })).rejects.toMatchObject({
        name: STORE_MISSING,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(process.env[TEST_PG_URL_ENV] === undefined)(
    'PostgreSQL: part-way level; a wrong password rejects without echoing the URL',
    async () => {
      const pgdb = await createPgTestDatabase(process.env[TEST_PG_URL_ENV]!);
      try {
        const db = openPgDatabase(pgdb.url);
        await migrate(db, PG_MIGRATIONS, 2);
        await db.close();
        expect((await probeStore({ kind: 'postgres', url: pgdb.url })).schemaVersion).toBe(2);
        const bad = new URL(pgdb.url);
        bad.password = 'not-the-password-x9';
        const config: StoreConfig = { kind: 'postgres', url: bad.toString() };
        const err = await probeStore(config).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(Error);
        expect(String((err as Error).message)).not.toContain('not-the-password-x9');
      } finally {
        await pgdb.drop();
      }
    },
  );
});
