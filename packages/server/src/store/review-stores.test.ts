/**
 * The review store on every backend: rules with per-bucket tokens (listed, matched by
 * bucket, removed with their tokens), the queue (one item per record, oldest first),
 * decisions (once only, never across orgs), sampling settings and the audit-act index.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, type DeviceId, type OrgId } from '../ids.js';
import { reviewHook, inSample } from '../review/review-queue.js';
import { createTestOrgRow } from '../testing/test-org-row.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import type { NewReviewItem } from './review-stores.js';

const tok = (): Buffer => randomBytes(16);

function item(logIndex: number, over: Partial<NewReviewItem> = {}): NewReviewItem {
  return {
    itemId: randomBytes(16).toString('base64url'),
    logIndex,
    deviceId: 'dev-1' as DeviceId,
    seq: logIndex,
    bucketId: 'b-1',
    sampled: false,
    ruleIds: ['r-1'],
    queuedAt: 1000 + logIndex,
    ...over,
  };
}

for (const backend of TEST_BACKENDS) {
  const title = `review store: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let org: OrgId;
    let other: OrgId;
    beforeAll(async () => {
      tb = await backend.open();
      org = await createTestOrgRow(tb.stores, 'Review Test');
      other = await createTestOrgRow(tb.stores, 'Other Org');
    });
    afterAll(async () => {
      await tb?.dispose();
    });

    it('keeps rules with tokens per bucket, lists them, removes them with their tokens', async () => {
      const s = tb.stores.review;
      const by = newId<DeviceId>();
      const [t1, t2, t3] = [tok(), tok(), tok()];
      await s.addRule(org, { ruleId: 'r-1', name: 'R-1', terms: 2, createdBy: by, createdAt: 5 }, [
        { bucketId: 'b-1', term: 0, tokens: t1 },
        { bucketId: 'b-1', term: 1, tokens: Buffer.concat([t2, t3]) },
        { bucketId: 'b-2', term: 0, tokens: tok() },
      ]);
      await s.addRule(org, { ruleId: 'r-2', name: 'R-2', terms: 1, createdBy: by, createdAt: 6 }, [
        { bucketId: 'b-2', term: 0, tokens: tok() },
      ]);
      const list = await s.listRules(org);
      expect(list.map((r) => [r.ruleId, r.name, r.terms, r.buckets])).toEqual([
        ['r-1', 'R-1', 2, ['b-1', 'b-2']],
        ['r-2', 'R-2', 1, ['b-2']],
      ]);
      expect(await s.listRules(other)).toEqual([]);
      const b1 = await s.activeTerms(org, ['b-1']);
      expect(b1.map((t) => [t.ruleId, t.term, t.tokens.length]).sort()).toEqual([
        ['r-1', 0, 16],
        ['r-1', 1, 32],
      ]);
      expect(await s.activeTerms(other, ['b-1'])).toEqual([]);
      expect(await s.removeRule(other, 'r-1', 9)).toBe(false);
      expect(await s.removeRule(org, 'r-1', 9)).toBe(true);
      expect(await s.removeRule(org, 'r-1', 9)).toBe(false);
      expect(await s.activeTerms(org, ['b-1', 'b-2'])).toHaveLength(1);
      expect((await s.listRules(org)).map((r) => r.ruleId)).toEqual(['r-2']);
      // Removed rules keep their names for the items they queued.
      expect([...(await s.ruleNames(org, ['r-1', 'r-2']))].sort()).toEqual([
        ['r-1', 'R-1'],
        ['r-2', 'R-2'],
      ]);
    });

    it('queues one item per record, serves the oldest open one, and records a decision once', async () => {
      const s = tb.stores.review;
      const a = item(7);
      await s.queue(org, [item(9, { sampled: true, ruleIds: [] }), a]);
      await s.queue(org, [item(7, { ruleIds: ['r-9'] })]); // the same record again: ignored
      expect(await s.openCount(org)).toBe(2);
      expect(await s.openCount(other)).toBe(0);
      const next = await s.nextOpen(org);
      expect(next).toMatchObject({ itemId: a.itemId, logIndex: 7, ruleIds: ['r-1'], sampled: false });
      expect(next?.decision).toBeNull();
      expect(await s.nextOpen(other)).toBeUndefined();
      const by = newId<DeviceId>();
      const note = randomBytes(80);
      expect(await s.decide(other, a.itemId, { decision: 'cleared', by, at: 50, note })).toBe('unknown');
      expect(await s.decide(org, 'no-such-item', { decision: 'cleared', by, at: 50, note })).toBe('unknown');
      expect(await s.decide(org, a.itemId, { decision: 'violation', by, at: 50, note })).toBe('decided');
      expect(await s.decide(org, a.itemId, { decision: 'cleared', by, at: 51, note })).toBe(
        'already-decided',
      );
      const got = await s.item(org, a.itemId);
      expect(got).toMatchObject({ decision: 'violation', decidedBy: by, decidedAt: 50 });
      expect(got?.note).toEqual(note);
      expect(await s.item(other, a.itemId)).toBeUndefined();
      expect((await s.nextOpen(org))?.logIndex).toBe(9);
      expect((await s.nextOpen(org))?.sampled).toBe(true);
      expect(await s.openCount(org)).toBe(1);
    });

    it('keeps one sampling secret per org and the rate set', async () => {
      const s = tb.stores.review;
      const o = await createTestOrgRow(tb.stores, 'Sampling');
      expect(await s.sampleRate(o)).toBeUndefined();
      const first = randomBytes(32);
      expect(await s.sampleSecret(o, first)).toEqual(first);
      expect(await s.sampleSecret(o, randomBytes(32))).toEqual(first);
      await s.setSampleRate(o, 25_000, randomBytes(32));
      expect(await s.sampleRate(o)).toBe(25_000);
      expect(await s.sampleSecret(o, randomBytes(32))).toEqual(first);
      const fresh = await createTestOrgRow(tb.stores, 'Sampling 2');
      await s.setSampleRate(fresh, 0, first);
      expect(await s.sampleRate(fresh)).toBe(0);
    });

    it('indexes audit acts by log index and time, per org', async () => {
      const s = tb.stores.review;
      await s.putActs(org, [
        { logIndex: 3, at: 100 },
        { logIndex: 10, at: 200 },
        { logIndex: 11, at: 300 },
      ]);
      await s.putActs(org, [{ logIndex: 10, at: 200 }]); // a re-run pass
      await s.putActs(other, [{ logIndex: 4, at: 100 }]);
      expect((await s.acts(org, null, 0, 10)).map((a) => a.logIndex)).toEqual([3, 10, 11]);
      expect((await s.acts(org, 3, 0, 1)).map((a) => a.logIndex)).toEqual([10]);
      expect((await s.acts(org, null, 250, 10)).map((a) => a.logIndex)).toEqual([11]);
      expect((await s.acts(other, null, 0, 10)).map((a) => a.logIndex)).toEqual([4]);
      await s.putActs(org, [{ logIndex: 12, at: 300 }]);
      expect(await s.actsAt(org, 300)).toEqual([11, 12]);
      expect(await s.actsAt(org, 150)).toEqual([]);
      expect(await s.actsAt(other, 300)).toEqual([]);
    });

    it("replaces an active rule's sealed terms, never a removed or unknown one", async () => {
      const s = tb.stores.review;
      const by = newId<DeviceId>();
      const first = randomBytes(40);
      await s.addRule(
        org,
        { ruleId: 'r-seal', name: 'R-S', terms: 1, createdBy: by, createdAt: 7, sealed: first },
        [],
      );
      const sealedOf = async () => (await s.listRules(org)).find((r) => r.ruleId === 'r-seal')?.sealed;
      expect(await sealedOf()).toEqual(first);
      const next = randomBytes(48);
      expect(await s.setRuleSealed(org, 'r-seal', next)).toBe(true);
      expect(await sealedOf()).toEqual(next);
      expect(await s.setRuleSealed(other, 'r-seal', first)).toBe(false);
      expect(await s.setRuleSealed(org, 'r-unknown', first)).toBe(false);
      await s.removeRule(org, 'r-seal', 8);
      expect(await s.setRuleSealed(org, 'r-seal', first)).toBe(false);
    });

    it('the indexer hook queues rule matches and the sample, nothing else', async () => {
      const o = await createTestOrgRow(tb.stores, 'Hook');
      const [w1, w2, w3] = [tok(), tok(), tok()];
      await tb.stores.review.setSampleRate(o, 0, randomBytes(32));
      await tb.stores.review.addRule(
        o,
        { ruleId: 'phrase', name: 'P', terms: 1, createdBy: 'x' as DeviceId, createdAt: 1 },
        [{ bucketId: 'b-1', term: 0, tokens: Buffer.concat([w1, w2]) }],
      );
      const rec = (logIndex: number, tokens: Buffer[], bucketId = 'b-1') => ({
        logIndex,
        deviceId: 'd' as DeviceId,
        seq: logIndex,
        bucketId,
        hash: randomBytes(32),
        time: 500 + logIndex,
        tokens,
      });
      const n = await tb.stores.withTransaction((tx) =>
        reviewHook(
          tx,
          o,
          [
            rec(0, [w1, w2, w3]), // both words of the phrase: queued
            rec(1, [w1, w3]), // one word only: not
            rec(2, [w1, w2], 'b-2'), // the rule has no tokens for this bucket: not
          ],
          [{ logIndex: 3, at: 503 }],
        ),
      );
      expect(n).toBe(1);
      const first = await tb.stores.review.nextOpen(o);
      expect(first).toMatchObject({ logIndex: 0, ruleIds: ['phrase'], sampled: false, queuedAt: 500 });
      expect(await tb.stores.review.openCount(o)).toBe(1);
      expect((await tb.stores.review.acts(o, null, 0, 5)).map((a) => a.logIndex)).toEqual([3]);
      // Everything sampled at 100 %.
      await tb.stores.review.setSampleRate(o, 1_000_000, randomBytes(32));
      await tb.stores.withTransaction((tx) => reviewHook(tx, o, [rec(5, []), rec(6, [w3])], []));
      expect(await tb.stores.review.openCount(o)).toBe(3);
    });
  });
}

describe('sampling draw', () => {
  it('is deterministic per record and close to the rate', () => {
    const secret = randomBytes(32);
    const hashes = Array.from({ length: 20_000 }, () => randomBytes(32));
    const picked = hashes.filter((h) => inSample(secret, h, 50_000)).length;
    // 5 % of 20,000 = 1,000; the binomial standard deviation is about 31.
    expect(picked).toBeGreaterThan(850);
    expect(picked).toBeLessThan(1150);
    for (const h of hashes.slice(0, 50))
      expect(inSample(secret, h, 50_000)).toBe(inSample(secret, h, 50_000));
    expect(hashes.some((h) => inSample(secret, h, 0))).toBe(false);
    expect(hashes.every((h) => inSample(secret, h, 1_000_000))).toBe(true);
    // Another secret draws another sample.
    const other = randomBytes(32);
    const a = hashes.map((h) => inSample(secret, h, 500_000));
    const b = hashes.map((h) => inSample(other, h, 500_000));
    expect(a).not.toEqual(b);
  });
});
