/**
 * The store snapshotter that route tests use to prove "a refused request changed nothing": on
 * SQLite and PostgreSQL, every committed write through another connection (insert, update,
 * delete, a new table, one changed byte of a byte column) shows in the next snapshot, although a
 * snapshot is dumped again only when the store's change token moved; with no write, snapshots
 * are equal.
 */
import { describe, expect, it, vi } from 'vitest';
import { openPgDatabase } from '../store/postgres/pg-database.js';
import { sql } from '../store/sql.js';
import { openSqliteDatabase } from '../store/sqlite/sqlite-database.js';
import { openSnapshotter, TEST_BACKENDS } from './test-stores.js';

// Creating and migrating a PostgreSQL database takes seconds on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

describe.each(TEST_BACKENDS)('openSnapshotter ($name)', ({ open, skip }) => {
  it.skipIf(skip !== null)('sees every committed write of another connection, and nothing else', async () => {
    const b = await open();
    const snap = openSnapshotter(b.config);
    const other =
      b.config.kind === 'sqlite' ? openSqliteDatabase(b.config.path) : openPgDatabase(b.config.url);
    try {
      const seen: string[] = [await snap.snapshot()];
      expect(await snap.snapshot()).toBe(seen[0]);
      const writes = [
        'CREATE TABLE snapshot_probe (x INTEGER NOT NULL)',
        'INSERT INTO snapshot_probe (x) VALUES (1)',
        'UPDATE snapshot_probe SET x = 2',
        'INSERT INTO snapshot_probe (x) VALUES (3)',
        'DELETE FROM snapshot_probe WHERE x = 2',
      ];
      for (const w of writes) {
        await other.run({ fragments: [w], values: [] });
        const now = await snap.snapshot();
        expect(seen, w).not.toContain(now);
        seen.push(now);
        expect(await snap.snapshot(), w).toBe(now);
      }
      // A write that leaves every row as it was: the token may move, the dump does not.
      await other.run(sql`UPDATE snapshot_probe SET x = 3`);
      expect(await snap.snapshot()).toBe(seen.at(-1));
      // A write inside a transaction shows once it commits.
      await other.transaction(async (tx) => {
        await tx.run(sql`INSERT INTO snapshot_probe (x) VALUES (4)`);
      });
      expect(seen).not.toContain(await snap.snapshot());
    } finally {
      await other.close();
      await snap.close();
      await b.dispose();
    }
  });

  it.skipIf(skip !== null)('sees one changed byte of a byte column, and bytes apart from text', async () => {
    const b = await open();
    const snap = openSnapshotter(b.config);
    const other =
      b.config.kind === 'sqlite' ? openSqliteDatabase(b.config.path) : openPgDatabase(b.config.url);
    try {
      const bytes = b.config.kind === 'sqlite' ? 'BLOB' : 'BYTEA';
      await other.run({ fragments: [`CREATE TABLE snapshot_bytes (b ${bytes}, t TEXT)`], values: [] });
      const blob = Buffer.alloc(2048, 7);
      await other.run(sql`INSERT INTO snapshot_bytes (b, t) VALUES (${blob}, ${null})`);
      const before = await snap.snapshot();
      for (const at of [0, 1000, 2047]) {
        const changed = Buffer.from(blob);
        changed[at]! ^= 1;
        await other.run(sql`UPDATE snapshot_bytes SET b = ${changed}`);
        expect(await snap.snapshot(), `byte ${at}`).not.toBe(before);
      }
      await other.run(sql`UPDATE snapshot_bytes SET b = ${blob}`);
      expect(await snap.snapshot()).toBe(before);
      // The same content as text in place of bytes is another state.
      await other.run(sql`UPDATE snapshot_bytes SET b = ${null}, t = ${blob.toString('base64')}`);
      const asText = await snap.snapshot();
      await other.run(sql`UPDATE snapshot_bytes SET b = ${blob}, t = ${null}`);
      expect(await snap.snapshot()).toBe(before);
      expect(asText).not.toBe(before);
    } finally {
      await other.close();
      await snap.close();
      await b.dispose();
    }
  });
});
