/**
 * The search index on both backends: the indexer's blocks against a brute-force match of
 * every record's tokens, paging, date groups, bucket and device filters, isolation between
 * orgs, and crash/idempotency (a pass that fails commits nothing; a re-run writes the same
 * rows; a second indexer cannot index a range twice), and the SQLite row-address shortcut
 * for fetching hits (a stale address falls back to the key).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgId } from '../ids.js';
import { silentLogger } from '../log/logger.js';
import { openPgDatabase } from '../store/postgres/pg-database.js';
import { sql } from '../store/sql.js';
import { openSqliteDatabase } from '../store/sqlite/sqlite-database.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import { indexRange, SearchIndexer } from './search-indexer.js';
import { runSearch, type SearchQuery } from './search-query.js';
import {
  createSearchOrg,
  storeRecords,
  SyntheticDevice,
  testIntegrator,
  type SyntheticRecord,
} from './search-test-support.js';

const VOCAB = Array.from({ length: 12 }, () => randomBytes(16));
const DAYS = Array.from({ length: 4 }, () => randomBytes(16));

/** Deterministic-enough token choice: word i appears in record r when (r * 7 + i * 3) % (i + 2) === 0. */
function tokensOf(r: number): Uint8Array[] {
  const out = VOCAB.filter((_, i) => (r * 7 + i * 3) % (i + 2) === 0);
  out.push(DAYS[r % DAYS.length]!);
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

async function allPages(tb: TestBackend, orgId: OrgId, q: Omit<SearchQuery, 'before'>): Promise<number[]> {
  const out: number[] = [];
  let before: number | null = null;
  for (let i = 0; i < 1000; i++) {
    const page = await runSearch(tb.stores, orgId, { ...q, before });
    expect(page.hits.length).toBeLessThanOrEqual(q.limit);
    out.push(...page.hits.map((h) => h.logIndex));
    if (page.next === null) return out;
    before = page.next;
  }
  throw new Error('paging did not end');
}

for (const backend of TEST_BACKENDS) {
  const title = `search index: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let orgId: OrgId;
    let other: OrgId;
    const expected = new Map<number, { tokens: Set<string>; device: string; bucket: string }>();
    let devA: SyntheticDevice;
    let devB: SyntheticDevice;

    beforeAll(async () => {
      tb = await backend.open();
      orgId = await createSearchOrg(tb.stores);
      other = await createSearchOrg(tb.stores);
      devA = new SyntheticDevice(orgId, 'bkt-a');
      devB = new SyntheticDevice(orgId, 'bkt-b');
      const integrator = testIntegrator(tb.stores);
      // Several ingest transactions and indexer passes of uneven sizes, two devices interleaved.
      // Passes of at most 37 entries extend blocks of up to 80: both extension and new blocks occur.
      const indexer = new SearchIndexer({
        stores: tb.stores,
        logger: silentLogger,
        maxEntriesPerPass: 37,
        tailBlockEntries: 80,
      });
      let r = 0;
      for (const n of [5, 60, 1, 90, 44]) {
        const batch: SyntheticRecord[] = [];
        for (let i = 0; i < n; i++, r++) {
          const dev = r % 3 === 0 ? devB : devA;
          const toks = tokensOf(r);
          batch.push({ device: dev, ...dev.next(toks) });
        }
        const idx = await storeRecords(tb.stores, orgId, batch);
        idx.forEach((li, i) => {
          const rec = batch[i]!;
          expected.set(li, {
            tokens: new Set(tokensOf(r - n + i).map(hex)),
            device: rec.device.deviceId,
            bucket: rec.device.bucketId,
          });
        });
        await integrator.integrateAll();
        while ((await indexer.indexAll()).length > 0) {
          /* drain */
        }
      }
      // The other org holds records with the same tokens: they must never show up.
      const devO = new SyntheticDevice(other, 'bkt-a');
      await storeRecords(
        tb.stores,
        other,
        Array.from({ length: 20 }, (_, i) => ({ device: devO, ...devO.next(tokensOf(i)) })),
      );
      await integrator.integrateAll();
      await indexer.indexAll();
    });
    afterAll(async () => {
      await tb?.dispose();
    });

    const brute = (pred: (e: { tokens: Set<string>; device: string; bucket: string }) => boolean) =>
      [...expected.entries()]
        .filter(([, e]) => pred(e))
        .map(([i]) => i)
        .sort((a, b) => b - a);

    it('indexes every integrated record and nothing else', async () => {
      expect(await tb.stores.search.indexed(orgId)).toBe(200);
      expect(await tb.stores.search.backlogs()).toEqual([]);
    });

    it('one and two-term queries equal a brute-force match, newest first, over every page', async () => {
      for (const [a, b] of [
        [0, null],
        [1, 2],
        [3, 5],
        [0, 11],
        [4, 4],
      ] as const) {
        const allOf = b === null ? [VOCAB[a]!] : [VOCAB[a]!, VOCAB[b]!];
        const want = brute((e) => allOf.every((t) => e.tokens.has(hex(t))));
        expect(await allPages(tb, orgId, { allOf, anyOf: [], limit: 7 })).toEqual(want);
      }
    });

    it('a date group matches any of its tokens; filters by bucket and device hold', async () => {
      const group = [DAYS[1]!, DAYS[3]!];
      const want = brute(
        (e) => e.tokens.has(hex(VOCAB[0]!)) && (e.tokens.has(hex(DAYS[1]!)) || e.tokens.has(hex(DAYS[3]!))),
      );
      expect(await allPages(tb, orgId, { allOf: [VOCAB[0]!], anyOf: [group], limit: 5 })).toEqual(want);
      const inB = brute((e) => e.tokens.has(hex(VOCAB[0]!)) && e.bucket === 'bkt-b');
      expect(
        await allPages(tb, orgId, { allOf: [VOCAB[0]!], anyOf: [], bucketId: 'bkt-b', limit: 4 }),
      ).toEqual(inB);
      const ofA = brute((e) => e.tokens.has(hex(VOCAB[1]!)) && e.device === devA.deviceId);
      expect(
        await allPages(tb, orgId, { allOf: [VOCAB[1]!], anyOf: [], deviceId: devA.deviceId, limit: 100 }),
      ).toEqual(ofA);
    });

    it('returns the exact stored bytes; an unknown token finds nothing; another org finds only its own', async () => {
      const page = await runSearch(tb.stores, orgId, {
        allOf: [VOCAB[0]!],
        anyOf: [],
        limit: 3,
        before: null,
      });
      for (const h of page.hits) {
        const stored = await tb.stores.archive.recordBytes(orgId, h.deviceId, h.seq);
        expect(Buffer.compare(stored!, h.bytes)).toBe(0);
      }
      expect(
        (await runSearch(tb.stores, orgId, { allOf: [randomBytes(16)], anyOf: [], limit: 10, before: null }))
          .hits,
      ).toEqual([]);
      const theirs = await runSearch(tb.stores, other, {
        allOf: [VOCAB[0]!],
        anyOf: [],
        limit: 100,
        before: null,
      });
      expect(theirs.hits.length).toBeGreaterThan(0);
      for (const h of theirs.hits) expect(h.deviceId).not.toBe(devA.deviceId);
    });

    it('a failed pass commits nothing; the re-run writes the same rows; a stale pass cannot commit twice', async () => {
      const org = await createSearchOrg(tb.stores);
      const dev = new SyntheticDevice(org, 'bkt-a');
      await storeRecords(
        tb.stores,
        org,
        Array.from({ length: 30 }, (_, i) => ({ device: dev, ...dev.next(tokensOf(i)) })),
      );
      await testIntegrator(tb.stores).integrateAll();
      // Crash after writing the blocks, before the high-water mark: the transaction rolls back.
      await expect(
        tb.stores.withTransaction(async (tx) => {
          await indexRange(tx, org, 0, 30);
          throw new Error('crash');
        }),
      ).rejects.toThrow('crash');
      expect(await tb.stores.search.indexed(org)).toBe(0);
      expect(await tb.stores.search.blockRefs(org, VOCAB[0]!, null)).toEqual([]);
      const indexer = new SearchIndexer({ stores: tb.stores, logger: silentLogger });
      const [out] = await indexer.indexAll();
      expect(out).toMatchObject({ orgId: org, from: 0, to: 30, records: 30 });
      const once = await runSearch(tb.stores, org, {
        allOf: [VOCAB[0]!],
        anyOf: [],
        limit: 100,
        before: null,
      });
      // Replaying the same range (a second node that read the old mark) fails on the primary key or the mark.
      await expect(
        tb.stores.withTransaction(async (tx) => {
          await indexRange(tx, org, 0, 30);
          if (!(await tx.search.advance(org, 0, 30, null))) throw new Error('mark moved');
        }),
      ).rejects.toThrow();
      expect(await indexer.indexAll()).toEqual([]);
      const again = await runSearch(tb.stores, org, {
        allOf: [VOCAB[0]!],
        anyOf: [],
        limit: 100,
        before: null,
      });
      expect(again.hits.map((h) => h.logIndex)).toEqual(once.hits.map((h) => h.logIndex));
    });

    it('small passes extend the tail block instead of adding a row per token each', async () => {
      const org = await createSearchOrg(tb.stores);
      const dev = new SyntheticDevice(org, 'bkt-a');
      const integrator = testIntegrator(tb.stores);
      const indexer = new SearchIndexer({ stores: tb.stores, logger: silentLogger, tailBlockEntries: 30 });
      const want: number[] = [];
      for (let i = 0; i < 40; i++) {
        want.push(...(await storeRecords(tb.stores, org, [{ device: dev, ...dev.next([VOCAB[0]!]) }])));
        await integrator.integrateAll();
        await indexer.indexAll();
      }
      // 40 one-record passes: a block of 30 entries, then a new one.
      expect((await tb.stores.search.blockRefs(org, VOCAB[0]!, null)).map((r) => r.n)).toEqual([10, 30]);
      expect(await allPages(tb, org, { allOf: [VOCAB[0]!], anyOf: [], limit: 7 })).toEqual(want.reverse());
    });

    it('stops at the integrated tree: records without a checkpoint are not yet searchable', async () => {
      const org = await createSearchOrg(tb.stores);
      const dev = new SyntheticDevice(org, 'bkt-a');
      await storeRecords(tb.stores, org, [{ device: dev, ...dev.next([VOCAB[0]!]) }]);
      const indexer = new SearchIndexer({ stores: tb.stores, logger: silentLogger });
      await indexer.indexAll();
      expect(await tb.stores.search.indexed(org)).toBe(0);
      await testIntegrator(tb.stores).integrateAll();
      await indexer.indexAll();
      expect(
        (await runSearch(tb.stores, org, { allOf: [VOCAB[0]!], anyOf: [], limit: 10, before: null })).hits,
      ).toHaveLength(1);
    });

    it('batch signatures: the batch covering a sequence number, none outside', async () => {
      const org = await createSearchOrg(tb.stores);
      const dev = new SyntheticDevice(org, 'bkt-a');
      const sig = randomBytes(64);
      await tb.stores.search.putBatches(org, [
        { deviceId: dev.deviceId, firstSeq: 10, count: 5, signature: sig },
      ]);
      await tb.stores.search.putBatches(org, [
        { deviceId: dev.deviceId, firstSeq: 10, count: 5, signature: sig },
      ]);
      expect((await tb.stores.search.batchCovering(org, dev.deviceId, 14))?.firstSeq).toBe(10);
      expect(await tb.stores.search.batchCovering(org, dev.deviceId, 15)).toBeUndefined();
      expect(await tb.stores.search.batchCovering(org, dev.deviceId, 9)).toBeUndefined();
      expect(await tb.stores.search.batchCovering(orgId, dev.deviceId, 12)).toBeUndefined();
    });

    it('batch signatures keep the hashes they sign; a longer re-send replaces them', async () => {
      const org = await createSearchOrg(tb.stores);
      const dev = new SyntheticDevice(org, 'bkt-a');
      const short = randomBytes(32 * 2);
      const long = randomBytes(32 * 3);
      await tb.stores.search.putBatches(org, [
        { deviceId: dev.deviceId, firstSeq: 0, count: 2, signature: randomBytes(64), hashes: short },
      ]);
      expect((await tb.stores.search.batchCovering(org, dev.deviceId, 1))?.hashes).toEqual(short);
      await tb.stores.search.putBatches(org, [
        { deviceId: dev.deviceId, firstSeq: 0, count: 3, signature: randomBytes(64), hashes: long },
      ]);
      expect((await tb.stores.search.batchCovering(org, dev.deviceId, 2))?.hashes).toEqual(long);
      // A batch stored before migration 18 has none: readers fall back to the records.
      await tb.stores.search.putBatches(org, [
        { deviceId: dev.deviceId, firstSeq: 3, count: 1, signature: randomBytes(64) },
      ]);
      expect((await tb.stores.search.batchCovering(org, dev.deviceId, 3))?.hashes).toBeUndefined();
    });

    it('fetches hits by the noted row address on SQLite, and by key when the address is stale or absent', async () => {
      const db =
        tb.config.kind === 'sqlite' ? openSqliteDatabase(tb.config.path) : openPgDatabase(tb.config.url);
      try {
        const noted = await db.all<{ n: unknown }>(
          sql`SELECT COUNT(archive_rowid) AS n FROM search_records WHERE org_id = ${orgId}`,
        );
        // PostgreSQL rows have no stable address: never noted there.
        expect(Number(noted[0]!.n)).toBe(backend.name === 'sqlite' ? 200 : 0);
        const q = { allOf: [VOCAB[0]!], anyOf: [], limit: 9 };
        const want = brute((e) => e.tokens.has(hex(VOCAB[0]!)));
        const bytesBefore = (await runSearch(tb.stores, orgId, { ...q, before: null })).hits.map(
          (h) => h.bytes,
        );
        if (backend.name === 'sqlite') {
          // As after a VACUUM that renumbered rows: every address now names another record (or
          // none), some are gone; results must not change.
          await db.run(
            sql`UPDATE search_records SET archive_rowid = CASE WHEN log_index % 5 = 0 THEN NULL
              ELSE archive_rowid + 1 END WHERE org_id = ${orgId}`,
          );
        }
        expect(await allPages(tb, orgId, q)).toEqual(want);
        const after = (await runSearch(tb.stores, orgId, { ...q, before: null })).hits.map((h) => h.bytes);
        expect(after).toEqual(bytesBefore);
      } finally {
        await db.close();
      }
    });
  });
}
