/** Group commit: many jobs per transaction, each with its own outcome, nothing of a failed one kept. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerError } from '../errors.js';
import { newId, type OrgId, type UserId } from '../ids.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';
import { migrate } from '../store/migrate.js';
import { storesOver } from '../store/open-store.js';
import { openSqliteDatabase } from '../store/sqlite/sqlite-database.js';
import { SQLITE_MIGRATIONS } from '../store/sqlite/sqlite-migrations.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbortJob, GroupCommitter, RetryBatch } from './group-commit.js';
import { randomBytes } from 'node:crypto';

describe('GroupCommitter', () => {
  let tb: TestBackend;
  let orgId: OrgId;
  beforeAll(async () => {
    tb = await openTestSqlite();
    orgId = newId<OrgId>();
    await tb.stores.orgs.create({
      orgId,
      name: 'o',
      signingPublicKey: randomBytes(32),
      signingKeyFingerprint: 'f',
      rootArchivePublicKey: randomBytes(32),
      keyManager: { delegation: randomBytes(4), notBefore: 0, notAfter: 1 },
      officerQuorum: 1,
      officers: [],
      createdAt: 1,
    });
  });
  afterAll(async () => tb?.dispose());

  it('commits jobs of one batch together; a refused job keeps the others; flush sees only successes', async () => {
    const flushed: string[] = [];
    let batches = 0;
    const gc = new GroupCommitter(tb.stores, 100, async (_tx, collected) => {
      batches++;
      for (const [k, v] of collected) flushed.push(`${k}:${v.length}`);
    });
    const ids = Array.from({ length: 10 }, () => newId<UserId>());
    const results = await Promise.allSettled(
      ids.map((userId, i) =>
        gc.run(async (tx, ctx) => {
          if (i === 3) throw new ServerError('INVALID_REQUEST', 'refused before writing');
          await tx.users.create(orgId, { userId, role: 'member', retentionClass: 'standard', createdAt: 1 });
          ctx.collect('org', new Uint8Array([i]));
          return i;
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(9);
    expect(results[3]).toMatchObject({ status: 'rejected' });
    expect(batches).toBe(1);
    expect(flushed).toEqual(['org:9']);
    for (const [i, userId] of ids.entries()) {
      expect((await tb.stores.users.get(orgId, userId)) === undefined).toBe(i === 3);
    }
  });

  it('retries a batch without a job that failed after writing', async () => {
    const gc = new GroupCommitter(tb.stores, 100);
    const ids = Array.from({ length: 4 }, () => newId<UserId>());
    const results = await Promise.allSettled(
      ids.map((userId, i) =>
        gc.run(async (tx) => {
          await tx.users.create(orgId, { userId, role: 'member', retentionClass: 'standard', createdAt: 1 });
          if (i === 1) throw new AbortJob(new ServerError('LOG_PUSHBACK'));
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'LOG_PUSHBACK' });
    expect(await tb.stores.users.get(orgId, ids[1]!)).toBeUndefined();
    expect(await tb.stores.users.get(orgId, ids[2]!)).toBeDefined();
  });

  it("prepares a batch once from its jobs' metas: its view is what the jobs see, updates included", async () => {
    const prepared: string[][] = [];
    const gc = new GroupCommitter<string, Uint8Array, string, { seen: string[] }>(
      tb.stores,
      100,
      undefined,
      async (_tx, metas) => {
        prepared.push([...metas]);
        return { seen: [] };
      },
    );
    const job = (meta?: string) =>
      gc.run((_tx, ctx) => {
        // A job updates the view; later jobs of the batch see it, the next batch does not.
        ctx.view?.seen.push(meta ?? 'none');
        return ctx.view === null ? null : [...ctx.view.seen];
      }, meta);
    expect(await Promise.all([job('a'), job(), job('b'), job('a')])).toEqual([
      ['a'],
      ['a', 'none'],
      ['a', 'none', 'b'],
      ['a', 'none', 'b', 'a'],
    ]);
    expect(prepared).toEqual([['a', 'b', 'a']]);
    // A batch without metas is not prepared: no view.
    expect(await job()).toBeNull();
    expect(prepared.length).toBe(1);
    expect(await job('c')).toEqual(['c']);
  });

  it('runs a job that returns its value without a promise, and drops what a refusing job collected', async () => {
    const flushed: string[] = [];
    const after: number[] = [];
    const gc = new GroupCommitter<string, number>(tb.stores, 100, async (_tx, collected) => {
      for (const [k, v] of collected) flushed.push(`${k}:${v.join(',')}`);
    });
    const results = await Promise.allSettled(
      [1, 2, 3].map((i) =>
        gc.run((_tx, ctx) => {
          ctx.collect('a', i);
          ctx.collect(`only-${i}`, i);
          ctx.afterCommit(() => after.push(i));
          // Collected, then refused: nothing of job 2 may reach the flush or run after the commit.
          if (i === 2) throw new ServerError('INVALID_REQUEST', 'refused');
          return i * 10;
        }),
      ),
    );
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'refused'))).toEqual([10, 'refused', 30]);
    expect(flushed).toEqual(['a:1,3', 'only-1:1', 'only-3:3']);
    expect(after).toEqual([1, 3]);
  });

  it('fails every job of a batch whose prepare fails, and runs none of them', async () => {
    let ran = 0;
    const gc = new GroupCommitter<string, Uint8Array, number, null>(tb.stores, 100, undefined, async () => {
      throw new ServerError('LOG_PUSHBACK');
    });
    const jobs = [1, 2].map((m) => gc.run(async () => ++ran, m));
    for (const j of jobs) await expect(j).rejects.toMatchObject({ code: 'LOG_PUSHBACK' });
    expect(ran).toBe(0);
  });

  it('fails every job of a batch whose flush fails, and keeps nothing', async () => {
    const gc = new GroupCommitter(tb.stores, 100, async () => {
      throw new ServerError('LOG_PUSHBACK');
    });
    const userId = newId<UserId>();
    await expect(
      gc.run(async (tx, ctx) => {
        await tx.users.create(orgId, { userId, role: 'member', retentionClass: 'standard', createdAt: 1 });
        ctx.collect('org', new Uint8Array(1));
      }),
    ).rejects.toMatchObject({ code: 'LOG_PUSHBACK' });
    expect(await tb.stores.users.get(orgId, userId)).toBeUndefined();
  });

  it('runs a batch whose flush lost a race (RetryBatch) or that PostgreSQL aborted (deadlock, serialization failure) once more with a fresh prepare; a second loss fails it with UNAVAILABLE', async () => {
    const lost = [
      () => new RetryBatch('another node committed first'),
      () => Object.assign(new Error('deadlock detected'), { code: '40P01' }),
      () => Object.assign(new Error('could not serialize access'), { code: '40001' }),
    ];
    for (const [losses, loss] of lost.flatMap((l) => [1, 2].map((n) => [n, l] as const))) {
      let prepares = 0;
      let flushes = 0;
      const gc = new GroupCommitter<string, Uint8Array, number, number>(
        tb.stores,
        100,
        async () => {
          if (++flushes <= losses) throw loss();
        },
        async () => ++prepares,
      );
      const userIds = [newId<UserId>(), newId<UserId>()];
      const jobs = userIds.map((userId, m) =>
        gc.run(async (tx, ctx) => {
          await tx.users.create(orgId, { userId, role: 'member', retentionClass: 'standard', createdAt: 1 });
          ctx.collect('org', new Uint8Array(1));
          return ctx.view;
        }, m),
      );
      if (losses === 1) {
        // Both jobs ran again and committed, seeing the second prepare's view.
        expect(await Promise.all(jobs)).toEqual([2, 2]);
        for (const userId of userIds) expect(await tb.stores.users.get(orgId, userId)).toBeDefined();
      } else {
        for (const j of jobs) await expect(j).rejects.toMatchObject({ code: 'UNAVAILABLE' });
        for (const userId of userIds) expect(await tb.stores.users.get(orgId, userId)).toBeUndefined();
      }
      expect(prepares).toBe(2);
    }
  });

  it('does not run a batch again for any other failure: a unique violation (23505) fails its jobs at once', async () => {
    let flushes = 0;
    const gc = new GroupCommitter<string, Uint8Array, number, number>(tb.stores, 100, async () => {
      flushes++;
      throw Object.assign(new Error('duplicate key value'), { code: '23505' });
    });
    const job = gc.run(async (_tx, ctx) => ctx.collect('org', new Uint8Array(1)));
    await expect(job).rejects.toMatchObject({ code: '23505' });
    expect(flushes).toBe(1);
  });

  it('folds items into the next batch without jobs: one flush with the jobs, settled by its commit', async () => {
    const flushes: string[][] = [];
    const gc = new GroupCommitter(tb.stores, 100, async (_tx, collected) => {
      flushes.push([...collected].map(([k, v]) => `${k}:${v.map((b) => b[0]).join(',')}`));
    });
    const job = gc.run(async (_tx, ctx) => ctx.collect('a', new Uint8Array([1])));
    const f1 = gc.fold('a', new Uint8Array([2]));
    const f2 = gc.fold('b', new Uint8Array([3]));
    const f3 = gc.fold('b', new Uint8Array([4]));
    await Promise.all([job, f1, f2, f3]);
    expect(flushes).toEqual([['a:2,1', 'b:3,4']]);
    // Folds alone make a batch.
    await gc.fold('b', new Uint8Array([5]));
    expect(flushes[1]).toEqual(['b:5']);
  });

  it('rejects folded items with their batch, and keeps them through a retry without an aborted job', async () => {
    let failNext = true;
    const flushed: number[] = [];
    const gc = new GroupCommitter(tb.stores, 100, async (_tx, collected) => {
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
      for (const v of collected.values()) for (const b of v) flushed.push(b[0]!);
    });
    await expect(gc.fold('a', new Uint8Array([1]))).rejects.toThrow('disk full');
    const userId = newId<UserId>();
    const results = await Promise.allSettled([
      gc.run(async (tx) => {
        await tx.users.create(orgId, { userId, role: 'member', retentionClass: 'standard', createdAt: 1 });
        throw new AbortJob(new ServerError('LOG_PUSHBACK'));
      }),
      gc.fold('a', new Uint8Array([2])),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(flushed).toEqual([2]);
    expect(await tb.stores.users.get(orgId, userId)).toBeUndefined();
  });

  it('answers a batch whose after-commit work throws: the rest of it runs, the fault is a process warning', async () => {
    const gc = new GroupCommitter(tb.stores, 100);
    const ran: string[] = [];
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const results = await Promise.all([
        gc.run(async (_tx, ctx) => {
          ctx.afterCommit(() => {
            throw new Error('push failed');
          });
          ctx.afterCommit(() => ran.push('a2'));
          return 'a';
        }),
        gc.run(async (_tx, ctx) => {
          ctx.afterCommit(() => ran.push('b'));
          return 'b';
        }),
      ]);
      expect(results).toEqual(['a', 'b']);
      expect(ran).toEqual(['a2', 'b']);
      await new Promise((r) => setImmediate(r));
      expect(warnings.map((w) => [w.name, w.message])).toEqual([['Error', 'push failed']]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('pipelined: runs the next batch while the previous one waits for its WAL sync; after-commit work at each commit, answers in batch order once durable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custos-gc-'));
    // The WAL sync is held until the test releases it, so "durable" is observable.
    const held: (() => void)[] = [];
    const db = openSqliteDatabase(join(dir, 'p.sqlite'), {
      syncFile: () => new Promise<void>((r) => held.push(r)),
    });
    const release = (): void => {
      for (const r of held.splice(0)) r();
    };
    const releasing = setInterval(release, 5);
    await migrate(db, SQLITE_MIGRATIONS);
    clearInterval(releasing);
    release();
    const stores = storesOver(db, 'sqlite');
    try {
      const log: string[] = [];
      const gc = new GroupCommitter(stores, 100, undefined, null, true);
      const job = (name: string, refuse = false) =>
        gc.run(async (tx, ctx) => {
          log.push(`run ${name}`);
          ctx.afterCommit(() => log.push(`after ${name}`));
          if (refuse) throw new ServerError('INVALID_REQUEST', 'refused');
          // A write, so the commit has a WAL sync to wait for.
          await tx.orgs.create({
            orgId: newId<OrgId>(),
            name: name,
            signingPublicKey: randomBytes(32),
            signingKeyFingerprint: 'f',
            rootArchivePublicKey: randomBytes(32),
            keyManager: { delegation: randomBytes(4), notBefore: 0, notAfter: 1 },
            officerQuorum: 1,
            officers: [],
            createdAt: 1,
          });
          return name;
        });
      const first = job('a').then((v) => log.push(`answer ${v}`));
      // Wait until batch a is written and its sync is pending, then queue batch b.
      while (held.length === 0) await new Promise((r) => setImmediate(r));
      const second = job('b').then((v) => log.push(`answer ${v}`));
      const refused = job('c', true).catch(() => log.push('refused c'));
      while (!log.includes('after b')) await new Promise((r) => setImmediate(r));
      // b ran while a's sync was still held; each batch's after-commit work ran at its
      // commit (c's not at all: it refused): nothing is answered yet.
      expect(log).toEqual(['run a', 'after a', 'run b', 'run c', 'after b']);
      while (held.length > 0 || !log.includes('answer b')) {
        release();
        await new Promise((r) => setImmediate(r));
      }
      await Promise.all([first, second, refused]);
      expect(log).toEqual([
        'run a',
        'after a',
        'run b',
        'run c',
        'after b',
        'answer a',
        'answer b',
        'refused c',
      ]);
      await gc.idle();
    } finally {
      const releasing2 = setInterval(release, 5);
      await stores.close();
      clearInterval(releasing2);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
