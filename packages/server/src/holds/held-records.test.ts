/**
 * The holds store and the held-records check on every backend: holds are org-scoped,
 * released once, and a record is held exactly when an active custodian, date or token hold
 * covers it — or when a token hold names its bucket and the record is not yet indexed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, type DeviceId, type OrgId, type UserId } from '../ids.js';
import { encodePostings } from '../search/posting-codec.js';
import type { HoldId, NewHold } from '../store/hold-stores.js';
import type { Stores } from '../store/stores.js';
import { createTestMember, createTestOrgRow } from '../testing/test-org-row.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import { pendingTableAuditSink } from '../audit/audit-sink.js';
import { bucketHolds, DATE_HOLD_LATE_UPLOAD_MS, heldRecordIds } from './held-records.js';
import { extendHold, placeHold } from './hold-acts.js';

const DAY = 24 * 60 * 60 * 1000;
const T0 = 1_780_000_000_000;

interface Rec {
  deviceId: DeviceId;
  seq: number;
  bucketId: string;
  receivedAt: number;
  tokens: Buffer[];
}

/** Stores records (in order, so record i gets log index first + i) and returns their log indexes. */
async function store(s: Stores, orgId: OrgId, recs: readonly Rec[]): Promise<number[]> {
  const first = await s.withTransaction((tx) =>
    tx.archive.insertSequenced(
      orgId,
      recs.map((r) => ({ ...r, hash: randomBytes(32), bytes: randomBytes(40) })),
      recs.map(() => randomBytes(50)),
    ),
  );
  return recs.map((_, i) => first + i);
}

/** Indexes records as the search indexer would: one block starting at `block`. */
async function index(
  s: Stores,
  orgId: OrgId,
  block: number,
  recs: readonly Rec[],
  idx: readonly number[],
  to: number,
): Promise<void> {
  const byToken = new Map<string, number[]>();
  recs.forEach((r, i) => {
    for (const t of r.tokens) {
      const k = t.toString('hex');
      byToken.set(k, [...(byToken.get(k) ?? []), idx[i]!]);
    }
  });
  await s.search.putPostings(
    orgId,
    [...byToken].map(([k, ids]) => ({
      token: Buffer.from(k, 'hex'),
      block,
      n: ids.length,
      ids: encodePostings(ids, block),
    })),
  );
  await s.search.putIndexed(
    orgId,
    recs.map((r, i) => ({ logIndex: idx[i]!, deviceId: r.deviceId, seq: r.seq, bucketId: r.bucketId })),
  );
  expect(await s.search.advance(orgId, await s.search.indexed(orgId), to, null)).toBe(true);
}

const hold = (scope: NewHold['scope'], by: DeviceId, at = T0): NewHold => ({
  holdId: newId<OrgId>() as string as HoldId,
  matter: 'M-1',
  scope,
  createdBy: by,
  createdAt: at,
});

for (const backend of TEST_BACKENDS) {
  const title = `holds: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let s: Stores;
    beforeAll(async () => {
      tb = await backend.open();
      s = tb.stores;
    });
    afterAll(async () => {
      await tb?.dispose();
    });

    it('stores, lists and releases holds once, scoped to their org', async () => {
      const orgId = await createTestOrgRow(s, 'Holds A');
      const other = await createTestOrgRow(s, 'Holds B');
      const placer = await createTestMember(s, orgId, 1);
      const releaser = await createTestMember(s, orgId, 1);
      const officer = placer.deviceIds[0]!;
      const custodian = newId<UserId>();
      const [t1, t2, t3] = [randomBytes(16), randomBytes(16), randomBytes(16)];
      const c = hold({ kind: 'custodian', userId: custodian }, officer);
      const q = hold(
        {
          kind: 'query',
          buckets: [
            { bucketId: 'b-2', tokens: [t2, t1] },
            { bucketId: 'b-1', tokens: [t3] },
          ],
        },
        officer,
      );
      const d = hold({ kind: 'dates', from: T0, to: T0 + DAY }, officer);
      await s.withTransaction(async (tx) => {
        await tx.holds.lock(orgId);
        for (const h of [c, q, d]) await tx.holds.create(orgId, h);
      });
      const got = await s.holds.get(orgId, q.holdId);
      expect(got?.scope).toEqual({
        kind: 'query',
        buckets: [
          { bucketId: 'b-1', tokens: [t3] },
          { bucketId: 'b-2', tokens: [t1, t2].sort((a, b) => Buffer.compare(a, b)) },
        ],
      });
      expect(got?.releasedAt).toBeNull();
      expect((await s.holds.get(orgId, c.holdId))?.scope).toEqual(c.scope);
      expect((await s.holds.get(orgId, d.holdId))?.scope).toEqual(d.scope);
      expect(await s.holds.get(other, c.holdId)).toBeUndefined();

      const listed = await s.holds.list(orgId, { after: null, limit: 10 });
      expect(listed.map((h) => h.holdId)).toEqual([c, q, d].map((h) => h.holdId).sort());
      const lq = listed.find((h) => h.holdId === q.holdId)!;
      expect(lq.scope).toEqual({
        kind: 'query',
        buckets: [
          { bucketId: 'b-1', tokens: [] },
          { bucketId: 'b-2', tokens: [] },
        ],
      });
      const page1 = await s.holds.list(orgId, { after: null, limit: 2 });
      const page2 = await s.holds.list(orgId, { after: page1[1]!.holdId, limit: 2 });
      expect([...page1, ...page2].map((h) => h.holdId)).toEqual(listed.map((h) => h.holdId));
      expect(await s.holds.list(other, { after: null, limit: 10 })).toEqual([]);
      // A re-sealed criterion replaces the stored one (the route checks the hold first).
      const resealed = randomBytes(40);
      await s.holds.setSealed(orgId, q.holdId, resealed);
      expect((await s.holds.get(orgId, q.holdId))?.sealed).toEqual(resealed);
      await s.holds.setSealed(other, q.holdId, randomBytes(8));
      expect((await s.holds.get(orgId, q.holdId))?.sealed).toEqual(resealed);

      expect(await s.holds.release(other, c.holdId, officer, T0 + 5, 'not yours')).toBe('unknown');
      expect(await s.holds.release(orgId, newId<OrgId>() as string as HoldId, officer, T0, 'x')).toBe(
        'unknown',
      );
      const closer = releaser.deviceIds[0]!;
      // The officer's signed release is kept with it (opaque here; the route verifies it).
      const signedRelease = { statement: randomBytes(90), signature: randomBytes(64) };
      expect(await s.holds.release(orgId, c.holdId, closer, T0 + 5, 'matter closed', signedRelease)).toBe(
        'released',
      );
      expect(await s.holds.release(orgId, c.holdId, officer, T0 + 6, 'again', signedRelease)).toBe(
        'already-released',
      );
      const released = await s.holds.get(orgId, c.holdId);
      expect([
        released?.releasedAt,
        released?.releasedBy,
        released?.releaseReason,
        released?.releaseSignature,
      ]).toEqual([T0 + 5, closer, 'matter closed', signedRelease]);
      expect(
        (await s.holds.list(orgId, { after: null, limit: 10 })).map((h) => [h.holdId, h.releaseSignature]),
      ).toEqual(
        [
          [c.holdId, signedRelease],
          [q.holdId, null],
          [d.holdId, null],
        ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
      );
      // The listing names the users of the placing and releasing devices, beside the devices.
      const people = (await s.holds.list(orgId, { after: null, limit: 10 })).map((h) => [
        h.holdId,
        h.createdBy,
        h.createdByUser,
        h.releasedBy,
        h.releasedByUser,
      ]);
      expect(people).toEqual(
        [
          [c.holdId, officer, placer.userId, closer, releaser.userId],
          [q.holdId, officer, placer.userId, null, null],
          [d.holdId, officer, placer.userId, null, null],
        ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
      );

      const forB1 = await s.holds.activeForBucket(orgId, 'b-1');
      expect(forB1.map((h) => h.holdId).sort()).toEqual([q.holdId, d.holdId].sort());
      expect(forB1.find((h) => h.holdId === q.holdId)?.scope).toEqual({
        kind: 'query',
        buckets: [{ bucketId: 'b-1', tokens: [t3] }],
      });
      expect((await s.holds.activeForBucket(orgId, 'b-9')).map((h) => h.holdId)).toEqual([d.holdId]);
      expect(await s.holds.activeForBucket(other, 'b-1')).toEqual([]);
    });

    it("lists each hold with its placing act's detail, as recorded, whatever was extended since", async () => {
      const orgId = await createTestOrgRow(s, 'Placed details');
      const other = await createTestOrgRow(s, 'Placed elsewhere');
      const officer = (await createTestMember(s, orgId, 1)).deviceIds[0]!;
      const custodian = await createTestMember(s, orgId, 1);
      for (const [i, bucketId] of ['b-1', 'b-2', 'b-3'].entries())
        await s.buckets.create(orgId, {
          bucketId,
          retentionClass: 'standard',
          period: `2026-0${i + 1}`,
          notBefore: Date.UTC(2026, i, 1),
          notAfter: Date.UTC(2026, i + 1, 1) - 1,
          publicKey: Buffer.alloc(32, 4),
          document: Buffer.alloc(16, 5),
          registeredBy: officer,
          registeredAt: 0,
          logIndex: 0,
        });
      const tokens = () => [randomBytes(16), randomBytes(16)];
      const q = await placeHold(s, pendingTableAuditSink, orgId, officer, T0, 'M-1', {
        kind: 'query',
        buckets: [
          { bucketId: 'b-1', tokens: tokens() },
          { bucketId: 'b-2', tokens: tokens() },
        ],
      });
      // Placed at the same instant: each hold's detail is its own act's.
      const c = await placeHold(s, pendingTableAuditSink, orgId, officer, T0, 'M-2', {
        kind: 'custodian',
        userId: custodian.userId,
      });
      // Extended at the same instant too: the lookup must take the hold.create act, not the extension.
      await extendHold(s, pendingTableAuditSink, orgId, q.holdId, officer, T0, [
        { bucketId: 'b-3', tokens: tokens() },
      ]);
      // A hold of another org, placed at the same instant: its detail stays its own org's.
      const otherOfficer = (await createTestMember(s, other, 1)).deviceIds[0]!;
      const otherCustodian = await createTestMember(s, other, 1);
      const o = await placeHold(s, pendingTableAuditSink, other, otherOfficer, T0, 'M-1', {
        kind: 'custodian',
        userId: otherCustodian.userId,
      });
      // A hold with no act recorded (stored directly): no detail to list.
      const bare = hold({ kind: 'dates', from: T0, to: T0 + DAY }, officer);
      await s.withTransaction((tx) => tx.holds.create(orgId, bare));
      const m = (matter: string) => `matter-sha256=${createHash('sha256').update(matter).digest('hex')}`;
      const listed = await s.holds.list(orgId, { after: null, limit: 10 });
      expect(Object.fromEntries(listed.map((h) => [h.holdId, h.placedDetail]))).toEqual({
        [q.holdId]: `kind=query buckets=2 tokens=4 ${m('M-1')}`,
        [c.holdId]: `kind=custodian user=${custodian.userId} ${m('M-2')}`,
        [bare.holdId]: null,
      });
      // It is the act's detail as recorded for the log, naming the hold.
      const acts = await s.auditPending.list(orgId, 0, 100);
      expect(acts.filter((a) => a.kind === 'hold.create').map((a) => [a.subject, a.detail])).toEqual([
        [q.holdId, `kind=query buckets=2 tokens=4 ${m('M-1')}`],
        [c.holdId, `kind=custodian user=${custodian.userId} ${m('M-2')}`],
      ]);
      expect(
        (await s.holds.list(other, { after: null, limit: 10 })).map((h) => [h.holdId, h.placedDetail]),
      ).toEqual([[o.holdId, `kind=custodian user=${otherCustodian.userId} ${m('M-1')}`]]);
    });

    it('reports exactly the records active holds cover, and unindexed ones under a token hold', async () => {
      const orgId = await createTestOrgRow(s, 'Held records');
      const other = await createTestOrgRow(s, 'Held elsewhere');
      const u = await createTestMember(s, orgId, 2);
      const v = await createTestMember(s, orgId, 1);
      const officer = v.deviceIds[0]!;
      const [tA, tB, tC] = [randomBytes(16), randomBytes(16), randomBytes(16)];
      const seqs = new Map<DeviceId, number>();
      const rec = (deviceId: DeviceId, bucketId: string, receivedAt: number, tokens: Buffer[]): Rec => {
        const seq = seqs.get(deviceId) ?? 0;
        seqs.set(deviceId, seq + 1);
        return { deviceId, seq, bucketId, receivedAt, tokens };
      };
      const [u1, u2] = u.deviceIds as [DeviceId, DeviceId];
      const recs: Rec[] = [
        rec(u1, 'b-1', T0 - 10 * DAY, [tA]), // custodian
        rec(u2, 'b-1', T0 - 10 * DAY, []), // custodian (second device)
        rec(officer, 'b-1', T0 - 10 * DAY, [tA, tB]), // query A∧B
        rec(officer, 'b-1', T0 - 10 * DAY, [tA]), // nothing (A only)
        rec(officer, 'b-1', T0 + 2 * DAY, [tC]), // dates (uploaded within the late window)
        rec(officer, 'b-2', T0 - 10 * DAY, [tA, tB]), // other bucket: the hold's b-1 tokens do not apply
        rec(officer, 'b-1', T0 + DAY + DATE_HOLD_LATE_UPLOAD_MS + 1, []), // after the late window
      ];
      const idx = await store(s, orgId, recs);
      await index(s, orgId, 0, recs, idx, idx[idx.length - 1]! + 1);

      expect(await s.withTransaction((tx) => heldRecordIds(tx, orgId, 'b-1'))).toEqual([]);
      const c = hold({ kind: 'custodian', userId: u.userId }, officer);
      const q = hold({ kind: 'query', buckets: [{ bucketId: 'b-1', tokens: [tA, tB] }] }, officer);
      const d = hold({ kind: 'dates', from: T0, to: T0 + DAY }, officer);
      for (const h of [c, q, d]) await s.withTransaction((tx) => tx.holds.create(orgId, h));

      const expected = [
        { i: 0, holds: [c] },
        { i: 1, holds: [c] },
        { i: 2, holds: [q] },
        { i: 4, holds: [d] },
      ].map(({ i, holds }) => ({
        deviceId: recs[i]!.deviceId,
        seq: recs[i]!.seq,
        logIndex: idx[i]!,
        holdIds: holds.map((h) => h.holdId),
      }));
      const held = await s.withTransaction((tx) => heldRecordIds(tx, orgId, 'b-1'));
      expect(held).toEqual(expected);
      // The predicate agrees with the listing on every record of the bucket.
      const pred = await s.withTransaction((tx) => bucketHolds(tx, orgId, 'b-1'));
      expect([...pred.holdIds].sort()).toEqual([c, q, d].map((h) => h.holdId).sort());
      const inB1 = recs.flatMap((r, i) => (r.bucketId === 'b-1' ? [{ ...r, logIndex: idx[i]! }] : []));
      expect(inB1.filter((r) => pred.isHeld(r)).map((r) => r.logIndex)).toEqual(
        expected.map((e) => e.logIndex),
      );
      // b-2: only the custodian and date holds bear on it; its record is neither.
      expect(await s.withTransaction((tx) => heldRecordIds(tx, orgId, 'b-2'))).toEqual([]);
      // Another org's bucket of the same name holds nothing.
      expect(await s.withTransaction((tx) => heldRecordIds(tx, other, 'b-1'))).toEqual([]);

      // A record not yet indexed is held while a token hold names its bucket.
      const late = [rec(officer, 'b-1', T0 - 20 * DAY, [])];
      const lateIdx = await store(s, orgId, late);
      const withLate = await s.withTransaction((tx) => heldRecordIds(tx, orgId, 'b-1'));
      expect(withLate.map((h) => h.logIndex)).toEqual([...expected.map((e) => e.logIndex), lateIdx[0]]);
      expect(withLate[withLate.length - 1]!.holdIds).toEqual([q.holdId]);
      await index(s, orgId, lateIdx[0]!, late, lateIdx, lateIdx[0]! + 1);
      expect((await s.withTransaction((tx) => heldRecordIds(tx, orgId, 'b-1'))).length).toBe(expected.length);

      // Released holds stop counting; a record under two holds stays held until both go.
      const c2 = hold({ kind: 'custodian', userId: u.userId }, officer);
      await s.withTransaction((tx) => tx.holds.create(orgId, c2));
      expect(await s.holds.release(orgId, c.holdId, officer, T0, 'done')).toBe('released');
      const afterOne = await s.withTransaction((tx) => heldRecordIds(tx, orgId, 'b-1'));
      expect(afterOne.slice(0, 2).map((h) => h.holdIds)).toEqual([[c2.holdId], [c2.holdId]]);
      for (const h of [c2, q, d])
        expect(await s.holds.release(orgId, h.holdId, officer, T0, 'done')).toBe('released');
      expect(await s.withTransaction((tx) => heldRecordIds(tx, orgId, 'b-1'))).toEqual([]);
      const none = await s.withTransaction((tx) => bucketHolds(tx, orgId, 'b-1'));
      expect([none.holdIds, inB1.some((r) => none.isHeld(r))]).toEqual([[], false]);
    });
  });
}
