/**
 * One test per numbered migration and backend: after applying up to version n, exactly the
 * tables of migrations 1..n exist, and applying again changes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPgTestDatabase,
  PG_SKIP_REASON,
  TEST_PG_URL_ENV,
  type PgTestDatabase,
} from '../testing/test-stores.js';
import { migrate, schemaVersion, type Migration } from './migrate.js';
import { openPgDatabase } from './postgres/pg-database.js';
import { PG_MIGRATIONS } from './postgres/pg-migrations.js';
import { sql, type SqlDatabase } from './sql.js';
import { openSqliteDatabase } from './sqlite/sqlite-database.js';
import { SQLITE_MIGRATIONS } from './sqlite/sqlite-migrations.js';

/** The tables each migration adds. */
const TABLES_BY_VERSION: Record<number, string[]> = {
  1: ['orgs', 'org_officers', 'users', 'devices', 'signed_prekeys', 'one_time_prekeys', 'kyber_prekeys'],
  2: ['bootstrap', 'enrolment_codes', 'auth_challenges', 'auth_tokens'],
  3: ['audit_pending'],
  4: ['relay_queue', 'blobs', 'blob_usage'],
  5: [
    'log_sequence',
    'log_entries',
    'log_tree',
    'log_tiles',
    'log_checkpoints',
    'archive_records',
    'archive_session_keys',
    'buckets',
    'bucket_key_blobs',
  ],
  6: ['bootstrap_tokens'],
  7: [],
  8: ['search_state', 'search_postings', 'search_records', 'archive_batches'],
  9: [],
  10: [],
  11: [],
  12: ['holds', 'hold_tokens'],
  13: ['review_rules', 'review_rule_terms', 'review_items', 'review_settings', 'audit_acts'],
  14: ['completeness_policy'],
  15: [
    'disposition_plans',
    'disposition_held',
    'disposition_approvals',
    'disposition_progress',
    'disposed_buckets',
  ],
  16: [],
  17: ['key_manager_rotations', 'key_manager_wraps', 'officer_list_changes'],
  18: [],
  19: [],
  20: [],
  21: [],
  22: ['role_retention'],
  23: ['root_key_rotations'],
  24: [],
  25: ['archive_gaps'],
  26: [],
  27: ['relay_send_keys'],
  28: ['directory_versions'],
  29: [],
  30: ['completeness_acknowledgements'],
  31: ['officer_bindings'],
  32: [],
  33: [],
  34: [],
  35: ['archive_blob_refs', 'blob_sweep_state'],
};
/** The tables each migration drops. */
const DROPPED_BY_VERSION: Record<number, string[]> = { 6: ['bootstrap'] };
/** Tables only the PostgreSQL schema has (SQLite keeps blob content in files). */
const PG_ONLY_TABLES: Record<number, string[]> = { 4: ['blob_contents'] };

async function tables(db: SqlDatabase): Promise<string[]> {
  const rows =
    db.dialect === 'sqlite'
      ? await db.all<{ name: string }>(
          sql`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`,
        )
      : await db.all<{ name: string }>(
          sql`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
        );
  return rows.map((r) => r.name);
}

function expectedTables(upTo: number, dialect: SqlDatabase['dialect']): string[] {
  const out = ['schema_migrations'];
  for (let v = 1; v <= upTo; v++) {
    out.push(...(TABLES_BY_VERSION[v] ?? []));
    if (dialect === 'postgres') out.push(...(PG_ONLY_TABLES[v] ?? []));
  }
  const dropped = new Set(
    Object.entries(DROPPED_BY_VERSION).flatMap(([v, t]) => (Number(v) <= upTo ? t : [])),
  );
  return out.filter((t) => !dropped.has(t)).sort();
}

function suite(
  name: string,
  migrations: readonly Migration[],
  open: () => Promise<{ db: SqlDatabase; done: () => Promise<void> }>,
) {
  let db: SqlDatabase;
  let done: () => Promise<void>;
  beforeAll(async () => {
    ({ db, done } = await open());
  });
  afterAll(async () => {
    await done?.();
  });

  it(`${name}: every migration has a table list here`, () => {
    expect(migrations.map((m) => m.version)).toEqual(Object.keys(TABLES_BY_VERSION).map(Number));
  });

  for (const m of migrations) {
    it(`${name}: migration ${m.version} (${m.name})`, async () => {
      expect(await migrate(db, migrations, m.version)).toEqual([m.version]);
      expect(await schemaVersion(db)).toBe(m.version);
      expect(await tables(db)).toEqual(expectedTables(m.version, db.dialect));
      expect(await migrate(db, migrations, m.version)).toEqual([]);
    });
  }
}

/**
 * Migration 26: a gap row stored before it is carried over as it was, and the
 * `bucket-disposed` reason is admitted, another reason still refused.
 */
async function gapReasonMigration(db: SqlDatabase, migrations: readonly Migration[]): Promise<void> {
  await migrate(db, migrations, 25);
  const gap = (firstSeq: number, reason: string) => sql`INSERT INTO archive_gaps (org_id, device_id,
    first_seq, last_seq, prev_hash, resume_hash, reason, declaration, log_index, received_at)
    VALUES ('org', 'dev', ${firstSeq}, ${firstSeq + 1}, ${Buffer.alloc(32, 1)}, ${Buffer.alloc(32, 2)},
      ${reason}, ${Buffer.from('doc')}, 7, 9)`;
  await db.run(gap(0, 'server-restored'));
  await expect(db.run(gap(2, 'bucket-disposed'))).rejects.toThrow();
  await migrate(db, migrations, 26);
  await db.run(gap(2, 'bucket-disposed'));
  await expect(db.run(gap(4, 'lost'))).rejects.toThrow();
  const rows = await db.all<{ first_seq: unknown; reason: unknown; declaration: unknown }>(
    sql`SELECT first_seq, reason, declaration FROM archive_gaps ORDER BY first_seq`,
  );
  expect(
    rows.map((r) => [Number(r.first_seq), r.reason, Buffer.from(r.declaration as Uint8Array).toString()]),
  ).toEqual([
    [0, 'server-restored', 'doc'],
    [2, 'bucket-disposed', 'doc'],
  ]);
}

/**
 * Migration 33: an acknowledgement stored before it is carried over with no state, and the same
 * finding can then be acknowledged again with a state, once per state.
 */
async function acknowledgementStateMigration(
  db: SqlDatabase,
  migrations: readonly Migration[],
): Promise<void> {
  await migrate(db, migrations, 32);
  await db.run(sql`INSERT INTO completeness_acknowledgements (org_id, finding_id, statement, signature,
    device_id, acknowledged_at) VALUES ('org', 'revoked/org/d/3-none', ${Buffer.from('st')},
    ${Buffer.alloc(64, 1)}, 'officer-dev', 9)`);
  await migrate(db, migrations, 33);
  const ack = (findingId: string, state: string) => sql`INSERT INTO completeness_acknowledgements
    (org_id, finding_id, finding_state, statement, signature, device_id, acknowledged_at)
    VALUES ('org', ${findingId}, ${state}, ${Buffer.from('st2')}, ${Buffer.alloc(64, 2)}, 'officer-dev', 10)`;
  await db.run(ack('revoked/org/d/3-none', 'unarchived=5,handed-in=none,gaps=none'));
  await expect(db.run(ack('revoked/org/d/3-none', ''))).rejects.toThrow();
  const rows = await db.all<{
    finding_id: unknown;
    finding_state: unknown;
    statement: unknown;
    signature: unknown;
    device_id: unknown;
    acknowledged_at: unknown;
  }>(
    sql`SELECT finding_id, finding_state, statement, signature, device_id, acknowledged_at
      FROM completeness_acknowledgements ORDER BY finding_id, finding_state`,
  );
  // Every column of the row from before survives (SQLite rebuilds the table for the new key).
  expect(
    rows.map((r) => [
      r.finding_id,
      r.finding_state,
      Buffer.from(r.statement as Uint8Array).toString(),
      Buffer.from(r.signature as Uint8Array).equals(Buffer.alloc(64, r.finding_state === '' ? 1 : 2)),
      r.device_id,
      Number(r.acknowledged_at),
    ]),
  ).toEqual([
    ['revoked/org/d/3-none', '', 'st', true, 'officer-dev', 9],
    ['revoked/org/d/3-none', 'unarchived=5,handed-in=none,gaps=none', 'st2', true, 'officer-dev', 10],
  ]);
}

/**
 * Migration 35: every blob stored before it is protected from the sweep (unlisted_through is
 * the newest blob's upload time), and an empty install starts at 0.
 */
async function blobSweepStateMigration(db: SqlDatabase, migrations: readonly Migration[]): Promise<void> {
  await migrate(db, migrations, 34);
  const key = Buffer.alloc(32, 1);
  await db.run(sql`INSERT INTO orgs (org_id, name, signing_public_key, signing_key_fingerprint,
    root_archive_public_key, key_manager_delegation, key_manager_not_before, key_manager_not_after,
    officer_quorum, created_at) VALUES ('org', 'Org', ${key}, 'fp', ${key}, ${key}, 0, 1, 1, 1)`);
  for (const [id, at] of [
    ['a'.repeat(64), 500],
    ['b'.repeat(64), 900],
  ] as const) {
    await db.run(sql`INSERT INTO blobs (org_id, blob_id, size, uploaded_by, created_at)
      VALUES ('org', ${id}, 10, 'dev', ${at})`);
  }
  await migrate(db, migrations, 35);
  const row = await db.get<{ unlisted_through: unknown }>(sql`SELECT unlisted_through FROM blob_sweep_state`);
  expect(Number(row?.unlisted_through)).toBe(900);
}

describe('migrations: sqlite', () => {
  suite('sqlite', SQLITE_MIGRATIONS, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-migrate-'));
    const db = openSqliteDatabase(join(dir, 'm.sqlite'));
    return {
      db,
      done: async () => {
        await db.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });

  it('migration 6 carries the single bootstrap row over, used or not', async () => {
    const db = openSqliteDatabase(':memory:');
    await migrate(db, SQLITE_MIGRATIONS, 5);
    const hash = Buffer.alloc(32, 7);
    await db.run(sql`INSERT INTO bootstrap (id, token_hash, created_at, consumed_at, org_id)
      VALUES (1, ${hash}, 10, 20, 'org')`);
    await migrate(db, SQLITE_MIGRATIONS, 6);
    const rows = await db.all<Record<string, unknown>>(sql`SELECT * FROM bootstrap_tokens`);
    expect(rows).toEqual([
      {
        token_hash: hash,
        source: 'first-start',
        created_at: 10,
        expires_at: null,
        consumed_at: 20,
        org_id: 'org',
        request_hash: null,
      },
    ]);
    await db.close();
  });

  it('migration 9 keeps sequenced entries and drops only their leaf hashes', async () => {
    const db = openSqliteDatabase(':memory:');
    await migrate(db, SQLITE_MIGRATIONS, 8);
    await db.run(sql`INSERT INTO log_entries (org_id, idx, leaf_hash, entry)
      VALUES ('org', 0, ${Buffer.alloc(32, 1)}, ${Buffer.from('e0')})`);
    await migrate(db, SQLITE_MIGRATIONS, 9);
    expect(await db.all(sql`SELECT * FROM log_entries`)).toEqual([
      { org_id: 'org', idx: 0, entry: Buffer.from('e0') },
    ]);
    await db.close();
  });

  it('migration 26 keeps the gap declarations and admits the bucket-disposed reason', async () => {
    const db = openSqliteDatabase(':memory:');
    await gapReasonMigration(db, SQLITE_MIGRATIONS);
    await db.close();
  });

  it('migration 33 keeps the acknowledgements and keys them by finding and state', async () => {
    const db = openSqliteDatabase(':memory:');
    await acknowledgementStateMigration(db, SQLITE_MIGRATIONS);
    await db.close();
  });

  it('migration 35 keeps every blob stored before it from the sweep', async () => {
    const db = openSqliteDatabase(':memory:');
    await blobSweepStateMigration(db, SQLITE_MIGRATIONS);
    await db.close();
  });

  it('refuses a list that is not numbered 1..n', async () => {
    const db = openSqliteDatabase(':memory:');
    await expect(migrate(db, [{ version: 2, name: 'x', up: '' }])).rejects.toThrow(/numbered/);
    await db.close();
  });
});

describe.skipIf(PG_SKIP_REASON !== null)(
  `migrations: postgres${PG_SKIP_REASON === null ? '' : ` (skipped: ${PG_SKIP_REASON})`}`,
  () => {
    suite('postgres', PG_MIGRATIONS, async () => {
      const pg: PgTestDatabase = await createPgTestDatabase(process.env[TEST_PG_URL_ENV] ?? '');
      const db = openPgDatabase(pg.url);
      return {
        db,
        done: async () => {
          await db.close();
          await pg.drop();
        },
      };
    });

    it('migration 26 keeps the gap declarations and admits the bucket-disposed reason', async () => {
      const pg = await createPgTestDatabase(process.env[TEST_PG_URL_ENV] ?? '');
      const db = openPgDatabase(pg.url);
      try {
        await gapReasonMigration(db, PG_MIGRATIONS);
      } finally {
        await db.close();
        await pg.drop();
      }
    });

    it('migration 33 keeps the acknowledgements and keys them by finding and state', async () => {
      const pg = await createPgTestDatabase(process.env[TEST_PG_URL_ENV] ?? '');
      const db = openPgDatabase(pg.url);
      try {
        await acknowledgementStateMigration(db, PG_MIGRATIONS);
      } finally {
        await db.close();
        await pg.drop();
      }
    });

    it('migration 35 keeps every blob stored before it from the sweep', async () => {
      const pg = await createPgTestDatabase(process.env[TEST_PG_URL_ENV] ?? '');
      const db = openPgDatabase(pg.url);
      try {
        await blobSweepStateMigration(db, PG_MIGRATIONS);
      } finally {
        await db.close();
        await pg.drop();
      }
    });
  },
);
