/**
 * The SQLite layer's durability contract: nothing resolves before the WAL sync that covers
 * every commit it made or could have seen; the queue does not wait for syncs; a commit made
 * while a sync runs starts its own (up to a limit) and commits waiting together share one; a failed sync fails the store; checkpoints happen in
 * the worker (the database file fills while the main connection never checkpoints); a failed worker is reported once and
 * automatic checkpoints come back.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sql, type SqlDatabase } from '../sql.js';
import { openSqliteDatabase, WAL_BACKSTOP_PAGES } from './sqlite-database.js';
import { CHECKPOINT_WORKER_NICE } from './wal-checkpointer.js';
import { fdatasyncPath, WAL_SYNCS_IN_FLIGHT, WalSync } from './wal-sync.js';

/** A sync whose completions the test releases one at a time. */
function heldSync() {
  const calls: { path: string; release: () => void; fail: (e: Error) => void }[] = [];
  const syncFile = (path: string) =>
    new Promise<void>((resolve, reject) => calls.push({ path, release: resolve, fail: reject }));
  return { calls, syncFile };
}

/** Like {@link heldSync}, but a released call then really syncs the file (and fails if it is gone). */
function heldRealSync() {
  const held = heldSync();
  const syncFile = async (path: string) => {
    await held.syncFile(path);
    await fdatasyncPath(path);
  };
  return { calls: held.calls, syncFile };
}

const ticks = async (n = 20): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

/** Tracks whether a promise has settled, without awaiting it. */
function watch<T>(p: Promise<T>) {
  const s = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  p.then(
    (v) => Object.assign(s, { settled: true, value: v }),
    (e: unknown) => Object.assign(s, { settled: true, error: e }),
  );
  return s;
}

describe('sqlite database: commit durability off the event loop', () => {
  let dir = '';
  let db: SqlDatabase | null = null;
  afterEach(async () => {
    await db?.close().catch(() => undefined);
    db = null;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens a database with table t; with a held sync, releases the CREATE TABLE's sync. */
  async function open(
    h?: {
      calls: ReturnType<typeof heldSync>['calls'];
      syncFile: (path: string) => Promise<void>;
    },
    walSyncsInFlight?: number,
  ): Promise<SqlDatabase> {
    dir = mkdtempSync(join(tmpdir(), 'custos-sqlite-'));
    const d = openSqliteDatabase(
      join(dir, 'd.sqlite'),
      h === undefined
        ? {}
        : { syncFile: h.syncFile, ...(walSyncsInFlight === undefined ? {} : { walSyncsInFlight }) },
    );
    db = d;
    const created = d.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL) STRICT');
    if (h !== undefined) {
      await ticks();
      h.calls.splice(0).forEach((c) => c.release());
    }
    await created;
    return d;
  }

  it('resolves a write transaction only after a WAL sync that began after its commit', async () => {
    const h = heldSync();
    const d = await open(h);
    const tx = watch(
      d.transaction(async (t) => t.run(sql`INSERT INTO t (k, v) VALUES (1, ${Buffer.alloc(8)})`)),
    );
    await ticks();
    expect(h.calls.map((c) => c.path)).toEqual([join(dir, 'd.sqlite-wal')]);
    expect(tx.settled).toBe(false);
    h.calls[0]!.release();
    await ticks();
    expect(tx).toMatchObject({ settled: true, value: 1 });
  });

  it('runs onCommitted right after COMMIT, before the sync the answer waits for; not when rolled back', async () => {
    const h = heldSync();
    const d = await open(h);
    const seen: number[] = [];
    const committed = (): void => {
      // The committed-state connection sees the row the moment the hook runs.
      void d
        .committedReads!.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM t`)
        .then((r) => seen.push(r!.n));
    };
    const tx = watch(
      d.transaction(async (t) => t.run(sql`INSERT INTO t (k, v) VALUES (1, ${Buffer.alloc(8)})`), committed),
    );
    await ticks();
    expect(seen).toEqual([1]);
    expect(h.calls).toHaveLength(1);
    expect(tx.settled).toBe(false);
    h.calls[0]!.release();
    await ticks();
    expect(tx).toMatchObject({ settled: true, value: 1 });

    let ran = false;
    await expect(
      d.transaction(
        async (t) => {
          await t.run(sql`INSERT INTO t (k, v) VALUES (2, ${Buffer.alloc(8)})`);
          throw new Error('abort');
        },
        () => (ran = true),
      ),
    ).rejects.toThrow('abort');
    expect(ran).toBe(false);
  });

  it('lets the next transaction run while a sync is pending, and reads wait for what they saw', async () => {
    const h = heldSync();
    const d = await open(h);
    const first = watch(d.run(sql`INSERT INTO t (k, v) VALUES (1, ${Buffer.alloc(1)})`));
    await ticks();
    let secondRan = false;
    const second = watch(
      d.transaction(async (t) => {
        secondRan = true;
        return t.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM t`);
      }),
    );
    const read = watch(d.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM t`));
    await ticks();
    // The second transaction ran during the first commit's sync and saw its row...
    expect(secondRan).toBe(true);
    expect(h.calls).toHaveLength(1);
    // ...but neither it nor the plain read resolves before that row is durable.
    expect(first.settled || second.settled || read.settled).toBe(false);
    h.calls[0]!.release();
    await ticks();
    expect(first).toMatchObject({ settled: true, value: 1 });
    expect(second).toMatchObject({ settled: true, value: { n: 1 } });
    expect(read).toMatchObject({ settled: true, value: { n: 1 } });
    // Read-only work after that needs no further sync.
    expect(h.calls).toHaveLength(1);
  });

  it('committed reads see a commit at once, without waiting for its sync or for queued work, and cannot write', async () => {
    const h = heldSync();
    const d = await open(h);
    const reads = d.committedReads!;
    const write = watch(d.run(sql`INSERT INTO t (k, v) VALUES (1, ${Buffer.alloc(1)})`));
    await ticks();
    // A second write transaction is running (awaiting inside it): it holds the main connection.
    let finish!: () => void;
    const inside = new Promise<void>((r) => (finish = r));
    const open2 = watch(
      d.transaction(async (t) => {
        await t.run(sql`INSERT INTO t (k, v) VALUES (2, ${Buffer.alloc(1)})`);
        await inside;
      }),
    );
    await ticks();
    expect(write.settled).toBe(false);
    // Row 1 is committed (not yet durable) and visible; row 2 is not committed and not visible.
    expect(await reads.all<{ k: number }>(sql`SELECT k FROM t ORDER BY k`)).toEqual([{ k: 1 }]);
    await expect(reads.run(sql`DELETE FROM t`)).rejects.toThrow(/cannot write/);
    finish();
    await ticks();
    h.calls.splice(0).forEach((c) => c.release());
    await ticks();
    h.calls.splice(0).forEach((c) => c.release());
    await ticks();
    expect(write).toMatchObject({ settled: true, value: 1 });
    expect(open2.settled).toBe(true);
    expect(await reads.all<{ k: number }>(sql`SELECT k FROM t ORDER BY k`)).toEqual([{ k: 1 }, { k: 2 }]);
    await d.close();
    await expect(reads.get(sql`SELECT 1 AS one`)).rejects.toThrow(/closed/);
  });

  it('by default runs one sync at a time: commits made while it runs wait, then share the next', async () => {
    expect(WAL_SYNCS_IN_FLIGHT).toBe(1);
    const h = heldSync();
    const d = await open(h);
    const first = watch(d.run(sql`INSERT INTO t (k, v) VALUES (1, ${Buffer.alloc(1)})`));
    await ticks();
    const later = [2, 3].map((k) =>
      watch(d.run(sql`INSERT INTO t (k, v) VALUES (${k}, ${Buffer.alloc(1)})`)),
    );
    await ticks();
    expect(h.calls).toHaveLength(1);
    h.calls[0]!.release();
    await ticks();
    expect(first.settled).toBe(true);
    expect(later.some((t) => t.settled)).toBe(false);
    // One sync, begun after both later commits, covers them.
    expect(h.calls).toHaveLength(2);
    h.calls[1]!.release();
    await ticks();
    expect(later.every((t) => t.settled && t.error === undefined)).toBe(true);
    expect(h.calls).toHaveLength(2);
  });

  it('refuses an in-flight limit outside 1..3', () => {
    const noSync = async (): Promise<void> => undefined;
    for (const limit of [0, 4, 1.5])
      expect(() => new WalSync('x-wal', noSync, noSync, limit)).toThrow(RangeError);
  });

  it('with overlap allowed, starts a sync for a commit made while one runs, up to the limit; commits waiting together share one', async () => {
    const h = heldSync();
    const d = await open(h, 3);
    const txs = [1, 2, 3, 4, 5].map((k) =>
      watch(d.transaction(async (t) => t.run(sql`INSERT INTO t (k, v) VALUES (${k}, ${Buffer.alloc(1)})`))),
    );
    await ticks();
    // Commits 1–3 each began a sync (the running ones began before their frames); 4 and 5
    // wait for a free slot.
    expect(h.calls).toHaveLength(3);
    h.calls[0]!.release();
    await ticks();
    expect(txs.map((t) => t.settled)).toEqual([true, false, false, false, false]);
    // One sync, begun after commit 5, covers both waiting commits.
    expect(h.calls).toHaveLength(4);
    h.calls[3]!.release();
    await ticks();
    // It began after every commit: all are durable, though syncs 2 and 3 still run.
    expect(txs.every((t) => t.settled && t.error === undefined)).toBe(true);
    h.calls[1]!.release();
    h.calls[2]!.release();
    await ticks();
    expect(h.calls).toHaveLength(4);
  });

  it('never counts a commit durable on a sync that began before it, whichever sync finishes first', async () => {
    const h = heldSync();
    const d = await open(h, 3);
    const first = watch(d.run(sql`INSERT INTO t (k, v) VALUES (1, ${Buffer.alloc(1)})`));
    await ticks();
    const second = watch(d.run(sql`INSERT INTO t (k, v) VALUES (2, ${Buffer.alloc(1)})`));
    await ticks();
    expect(h.calls).toHaveLength(2);
    // The first sync began before the second commit: it makes only the first durable.
    h.calls[0]!.release();
    await ticks();
    expect(first.settled).toBe(true);
    expect(second.settled).toBe(false);
    h.calls[1]!.release();
    await ticks();
    expect(second).toMatchObject({ settled: true, value: 1 });
    // The other order: the later sync finishing first covers both commits.
    const third = watch(d.run(sql`INSERT INTO t (k, v) VALUES (3, ${Buffer.alloc(1)})`));
    await ticks();
    const fourth = watch(d.run(sql`INSERT INTO t (k, v) VALUES (4, ${Buffer.alloc(1)})`));
    await ticks();
    expect(h.calls).toHaveLength(4);
    h.calls[3]!.release();
    await ticks();
    expect(third.settled && fourth.settled).toBe(true);
    h.calls[2]!.release();
    await ticks();
  });

  it('fails the commit whose sync failed, and every later operation', async () => {
    const h = heldSync();
    const d = await open(h);
    const tx = watch(d.run(sql`INSERT INTO t (k, v) VALUES (1, ${Buffer.alloc(1)})`));
    await ticks();
    h.calls[0]!.fail(new Error('EIO'));
    await ticks();
    expect(tx.settled).toBe(true);
    expect(String(tx.error)).toMatch(/could not be synced/);
    await expect(d.get(sql`SELECT COUNT(*) AS n FROM t`)).rejects.toThrow(/could not be synced/);
    await expect(
      d.transaction(async (t) => t.run(sql`INSERT INTO t (k, v) VALUES (2, ${Buffer.alloc(1)})`)),
    ).rejects.toThrow(/could not be synced/);
  });

  it('checkpoints in the worker: the database file fills without the main connection checkpointing', async () => {
    const d = await open();
    const file = join(dir, 'd.sqlite');
    const before = statSync(file).size;
    const big = Buffer.alloc(64 * 1024, 1);
    for (let k = 1; k <= 64; k++) await d.run(sql`INSERT INTO t (k, v) VALUES (${k}, ${big})`);
    // 4 MiB stays far below the main connection's backstop: only the worker copies frames over.
    await vi.waitFor(() => expect(statSync(file).size).toBeGreaterThan(before + 64 * 64 * 1024), {
      timeout: 20_000,
      interval: 50,
    });
    expect((await d.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM t`))?.n).toBe(64);
  });

  it('bounds the WAL under continuous commits (the backstop checkpoint restarts it)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-sqlite-'));
    const d = openSqliteDatabase(join(dir, 'd.sqlite'), { walBackstopPages: 64 });
    db = d;
    await d.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL) STRICT');
    const wal = join(dir, 'd.sqlite-wal');
    const big = Buffer.alloc(64 * 1024, 7);
    let largest = 0;
    // 400 commits of 16+ pages each, back to back: 25 MiB of WAL if nothing restarted it.
    for (let k = 1; k <= 400; k++) {
      await d.run(sql`INSERT INTO t (k, v) VALUES (${k}, ${big})`);
      largest = Math.max(largest, statSync(wal).size);
    }
    // 64 pages of backstop, plus the commit that crosses it, plus slack for frames a pass left.
    expect(largest).toBeLessThan(4 * 1024 * 1024);
    expect((await d.get<{ n: number }>(sql`SELECT COUNT(*) AS n FROM t`))?.n).toBe(400);
  });

  /** Worker sources that fail each way the checkpointer notices: an error, an exit, a failed pass. */
  const failingWorkers = [
    {
      how: 'throws',
      source: `throw Object.assign(new Error('cannot open'), { code: 'SQLITE_CANTOPEN' });`,
      code: 'SQLITE_CANTOPEN',
    },
    { how: 'exits', source: `process.exit(3);`, code: undefined },
    {
      how: 'fails a pass',
      source: `const { parentPort } = require('node:worker_threads');
        parentPort.on('message', (m) => m === 'close' ? parentPort.close() : parentPort.postMessage({ ok: false, code: 'SQLITE_IOERR' }));`,
      code: 'SQLITE_IOERR',
    },
  ];

  it.each(failingWorkers)(
    'a checkpoint worker that $how is reported once, and automatic checkpoints come back',
    async ({ source, code }) => {
      dir = mkdtempSync(join(tmpdir(), 'custos-sqlite-'));
      const causes: unknown[] = [];
      const d = openSqliteDatabase(join(dir, 'd.sqlite'), {
        checkpointWorkerSource: source,
        onCheckpointWorkerFailure: (cause) => causes.push(cause),
      });
      db = d;
      await d.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB NOT NULL) STRICT');
      await d.run(sql`INSERT INTO t (k, v) VALUES (1, ${Buffer.alloc(1)})`);
      await vi.waitFor(() => expect(causes).toHaveLength(1), { timeout: 20_000, interval: 20 });
      expect((causes[0] as { code?: unknown }).code).toBe(code);
      const autocheckpoint = await d.get<{ wal_autocheckpoint: number }>(sql`PRAGMA wal_autocheckpoint`);
      expect(autocheckpoint?.wal_autocheckpoint).toBe(1000);
      // Later commits, the worker's exit after its error, and close report nothing more.
      for (let k = 2; k <= 5; k++) await d.run(sql`INSERT INTO t (k, v) VALUES (${k}, ${Buffer.alloc(1)})`);
      await d.close();
      expect(causes).toHaveLength(1);
    },
  );

  it.skipIf(process.platform !== 'linux')(
    'runs checkpoints on a thread of lower CPU priority, and only that thread',
    async () => {
      /** This process's threads at the checkpoint worker's niceness (field 19 of /proc/…/stat). */
      const lowered = (): number =>
        readdirSync('/proc/self/task').filter(
          (tid) =>
            Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]) ===
            CHECKPOINT_WORKER_NICE,
        ).length;
      const before = lowered();
      const d = await open();
      await d.run(sql`INSERT INTO t (k, v) VALUES (1, ${Buffer.alloc(1)})`);
      await vi.waitFor(() => expect(lowered()).toBe(before + 1), { timeout: 20_000, interval: 20 });
      expect(getPriority()).toBe(0);
      await d.close();
      db = null;
      await vi.waitFor(() => expect(lowered()).toBe(before), { timeout: 20_000, interval: 20 });
    },
  );

  it('a working checkpoint worker keeps the main connection at the backstop', async () => {
    const d = await open();
    const autocheckpoint = await d.get<{ wal_autocheckpoint: number }>(sql`PRAGMA wal_autocheckpoint`);
    expect(autocheckpoint?.wal_autocheckpoint).toBe(WAL_BACKSTOP_PAGES);
  });

  it('keeps every acknowledged row across close and reopen', async () => {
    const d = await open();
    await Promise.all(
      Array.from({ length: 50 }, (_, k) =>
        d.transaction(async (t) => t.run(sql`INSERT INTO t (k, v) VALUES (${k}, ${Buffer.alloc(100, k)})`)),
      ),
    );
    await d.close();
    db = openSqliteDatabase(join(dir, 'd.sqlite'));
    const rows = await db.all<{ k: number; v: Buffer }>(sql`SELECT k, v FROM t ORDER BY k`);
    expect(rows.map((r) => r.k)).toEqual(Array.from({ length: 50 }, (_, k) => k));
    expect(rows.every((r) => r.v.equals(Buffer.alloc(100, r.k)))).toBe(true);
  });
  it('closes without failing writes that race it: earlier ones are synced first, later ones refused as closed', async () => {
    // Closing the last connection deletes the WAL: a sync still pending then would fail with
    // ENOENT and report a write that SQLite had in fact kept as "could not be synced".
    const h = heldRealSync();
    const d = await open(h);
    const writes: { k: number; s: ReturnType<typeof watch<number>> }[] = [];
    const write = (k: number) =>
      writes.push({ k, s: watch(d.run(sql`INSERT INTO t (k, v) VALUES (${k}, ${Buffer.from([k & 255])})`)) });
    write(0);
    const closing = watch(d.close());
    // Writes keep arriving (one per millisecond, syncs released as they come) until close is done.
    for (let k = 1; k < 5_000 && !closing.settled; k++) {
      write(k);
      await new Promise((r) => setTimeout(r, 1));
      h.calls.splice(0).forEach((c) => c.release());
    }
    expect(closing.settled).toBe(true);
    expect(closing.error).toBeUndefined();
    for (let i = 0; i < 1_000 && !writes.every((w) => w.s.settled); i++) {
      await new Promise((r) => setTimeout(r, 1));
      h.calls.splice(0).forEach((c) => c.release());
    }
    expect(writes.every((w) => w.s.settled)).toBe(true);
    const failed = writes.filter((w) => w.s.error !== undefined).map((w) => String(w.s.error));
    expect(failed.filter((e) => !/the SQLite store is closed/.test(e))).toEqual([]);
    expect(writes[0]?.s.error).toBeUndefined();
    db = openSqliteDatabase(join(dir, 'd.sqlite'));
    const keys = (await db.all<{ k: number }>(sql`SELECT k FROM t ORDER BY k`)).map((r) => r.k);
    expect(keys).toEqual(writes.filter((w) => w.s.error === undefined).map((w) => w.k));
  });
});
