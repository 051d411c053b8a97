/**
 * The per-org directory version the relay's cache is validated with (migrations 28 and 29),
 * at the schema level on both backends: which writes of `devices` move it, that a moved
 * version is a random value other than the one it replaces (a restore can bring a counter
 * back to a number a
 * node cached), that a database upgraded from before migration 28 starts at 0 and moves,
 * and (PostgreSQL) that a bump does not hold the org's row from the devices write to commit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createPgTestDatabase,
  PG_SKIP_REASON,
  TEST_PG_URL_ENV,
  type PgTestDatabase,
} from '../testing/test-stores.js';
import type { OrgId } from '../ids.js';
import { migrate, type Migration } from './migrate.js';
import { openPgDatabase } from './postgres/pg-database.js';
import { PG_MIGRATIONS } from './postgres/pg-migrations.js';
import { SqlRelayQueueStore } from './relay-queue-store.js';
import { sql, type SqlDatabase, type SqlExecutor } from './sql.js';
import { openSqliteDatabase } from './sqlite/sqlite-database.js';
import { SQLITE_MIGRATIONS } from './sqlite/sqlite-migrations.js';

const KEY = Buffer.alloc(32, 1);

async function addOrg(db: SqlExecutor, orgId: string): Promise<void> {
  await db.run(sql`INSERT INTO orgs (org_id, name, signing_public_key, signing_key_fingerprint,
    root_archive_public_key, key_manager_delegation, key_manager_not_before, key_manager_not_after,
    officer_quorum, created_at) VALUES (${orgId}, 'org', ${KEY}, 'fp', ${KEY}, ${KEY}, 0, 1, 1, 0)`);
}

async function addUser(db: SqlExecutor, orgId: string, userId: string): Promise<void> {
  await db.run(sql`INSERT INTO users (org_id, user_id, role, retention_class, created_at)
    VALUES (${orgId}, ${userId}, 'member', 'standard', 0)`);
}

async function addDevice(db: SqlExecutor, orgId: string, userId: string, deviceId: string, n: number) {
  await db.run(sql`INSERT INTO devices (org_id, device_id, user_id, device_number, identity_key,
    registration_id, created_at) VALUES (${orgId}, ${deviceId}, ${userId}, ${n}, ${KEY}, 1, 0)`);
}

const version = (db: SqlExecutor, orgId: string) =>
  new SqlRelayQueueStore(db).directoryVersion(orgId as OrgId);

interface Backend {
  name: 'sqlite' | 'postgres';
  migrations: readonly Migration[];
  skip: string | null;
  open(): Promise<SqlDatabase>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    migrations: SQLITE_MIGRATIONS,
    skip: null,
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'custos-dirversion-'));
      const db = openSqliteDatabase(join(dir, 'd.sqlite'));
      cleanups.push(async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return db;
    },
  },
  {
    name: 'postgres',
    migrations: PG_MIGRATIONS,
    skip: PG_SKIP_REASON,
    open: async () => {
      const pg: PgTestDatabase = await createPgTestDatabase(process.env[TEST_PG_URL_ENV] ?? '');
      const db = openPgDatabase(pg.url);
      cleanups.push(async () => {
        await db.close();
        await pg.drop();
      });
      return db;
    },
  },
];

for (const b of BACKENDS) {
  describe.skipIf(b.skip !== null)(
    `directory versions: ${b.name}${b.skip === null ? '' : ` (skipped: ${b.skip})`}`,
    () => {
      it('move on a device insert, revocation, move to another org and delete, and not on a write of another column', async () => {
        const db = await b.open();
        await migrate(db, b.migrations);
        for (const org of ['A', 'B']) {
          await addOrg(db, org);
          await addUser(db, org, 'u');
        }
        expect(await version(db, 'A')).toBe(0);
        await addDevice(db, 'A', 'u', 'd1', 1);
        await addDevice(db, 'A', 'u', 'd2', 2);
        const enrolled = await version(db, 'A');
        expect(enrolled).not.toBe(0);
        // A column the relay does not cache (the device's registration id) leaves the version.
        await db.run(sql`UPDATE devices SET registration_id = 7 WHERE org_id = 'A' AND device_id = 'd1'`);
        expect(await version(db, 'A')).toBe(enrolled);
        await db.run(sql`UPDATE devices SET revoked_at = 5 WHERE org_id = 'A' AND device_id = 'd1'`);
        const revoked = await version(db, 'A');
        expect(revoked).not.toBe(enrolled);
        // A device moved to another org moves both orgs' versions.
        await db.run(sql`UPDATE devices SET org_id = 'B' WHERE org_id = 'A' AND device_id = 'd2'`);
        const moved = await version(db, 'A');
        expect(moved).not.toBe(revoked);
        expect(await version(db, 'B')).not.toBe(0);
        await db.run(sql`DELETE FROM devices WHERE org_id = 'A' AND device_id = 'd1'`);
        expect(await version(db, 'A')).not.toBe(moved);
      });

      it('never come back to an earlier value, even after the row was restored to one', async () => {
        const db = await b.open();
        await migrate(db, b.migrations);
        await addOrg(db, 'A');
        await addUser(db, 'A', 'u');
        await addDevice(db, 'A', 'u', 'd', 1);
        const seen = [0, await version(db, 'A')];
        for (let at = 1; at <= 3; at++) {
          await db.run(sql`UPDATE devices SET revoked_at = ${at} WHERE org_id = 'A' AND device_id = 'd'`);
          seen.push(await version(db, 'A'));
        }
        // A restore brings the org back to a version a node may have cached; the next bump
        // (a revocation made after the restore) must not land on any value a node has seen.
        await db.run(sql`UPDATE directory_versions SET version = ${seen[1]!} WHERE org_id = 'A'`);
        await db.run(sql`UPDATE devices SET revoked_at = 9 WHERE org_id = 'A' AND device_id = 'd'`);
        const after = await version(db, 'A');
        expect(seen).not.toContain(after);
        expect(new Set(seen).size).toBe(seen.length);
      });

      it('start at 0 in a database with devices from before migration 28, and move with the first change', async () => {
        const db = await b.open();
        await migrate(db, b.migrations, 27);
        for (const org of ['A', 'B']) {
          await addOrg(db, org);
          await addUser(db, org, 'u');
          await addDevice(db, org, 'u', `${org}1`, 1);
        }
        await addDevice(db, 'B', 'u', 'B2', 2);
        await migrate(db, b.migrations);
        expect(await version(db, 'A')).toBe(0);
        expect(await version(db, 'B')).toBe(0);
        await db.run(sql`UPDATE devices SET revoked_at = 5 WHERE org_id = 'A' AND device_id = 'A1'`);
        expect(await version(db, 'A')).not.toBe(0);
        // A device moved out of an org without a row yet moves that org too.
        await db.run(sql`UPDATE devices SET org_id = 'A' WHERE org_id = 'B' AND device_id = 'B2'`);
        expect(await version(db, 'B')).not.toBe(0);
      });
    },
  );
}

describe('directory versions: sqlite schema', () => {
  it('has the three triggers on devices at the latest migration (a rebuild of devices drops them)', async () => {
    const db = await BACKENDS[0]!.open();
    await migrate(db, SQLITE_MIGRATIONS);
    const rows = await db.all<{ name: string }>(
      sql`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'devices' ORDER BY name`,
    );
    expect(rows.map((r) => r.name)).toEqual([
      'devices_delete_directory_version',
      'devices_insert_directory_version',
      'devices_update_directory_version',
    ]);
  });
});

describe.skipIf(PG_SKIP_REASON !== null)(
  `directory versions: postgres locking${PG_SKIP_REASON === null ? '' : ` (skipped: ${PG_SKIP_REASON})`}`,
  () => {
    it('an enrolment held open does not hold up another of the same org, and each moves the version at its commit', async () => {
      const db = await BACKENDS[1]!.open();
      await migrate(db, PG_MIGRATIONS);
      await addOrg(db, 'A');
      await addUser(db, 'A', 'u');
      await addDevice(db, 'A', 'u', 'd0', 1);
      const before = await version(db, 'A');
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let inserted!: () => void;
      const held = new Promise<void>((resolve) => (inserted = resolve));
      const first = db.transaction(async (tx) => {
        await addDevice(tx, 'A', 'u', 'd1', 2);
        inserted();
        await released;
      });
      let second: number;
      try {
        await held;
        // On another connection: fails with lock_timeout (instead of hanging) if it has to
        // wait for the open transaction's lock on the org's directory_versions row.
        await db.transaction(async (tx) => {
          await tx.run(sql`SET LOCAL lock_timeout = '2s'`);
          await addDevice(tx, 'A', 'u', 'd2', 3);
        });
        second = await version(db, 'A');
        expect(second).not.toBe(before);
      } finally {
        release();
        await first;
      }
      const both = await version(db, 'A');
      expect([before, second]).not.toContain(both);
    });
  },
);
