/**
 * Disposition end to end on the stores (SQLite and PostgreSQL): a plan of expired buckets,
 * officer approvals (too few, forged, from an unregistered officer, replayed, another org's
 * plan), execution interrupted and resumed, held records and their keys surviving, and the
 * keys destroyed once the hold is released; a disposed record's blob reference released to the
 * blob sweep, a held one's kept. A bucket that still takes records at the server's
 * time (window end + late-upload grace) is never planned, approved or executed, whatever the
 * as-of date: not even from a plan that holds it (one made before the rule), resumed or not.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import {
  decodeDispositionCertificate,
  decodeDispositionPlan,
  decodeLogEntry,
  dispositionApprovalMessage,
  encodeDeterministicCbor,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingTableAuditSink } from '../audit/audit-sink.js';
import { newId, type DeviceId, type OrgId } from '../ids.js';
import { encodePostings, decodePostings } from '../search/posting-codec.js';
import { SyntheticDevice, storeRecords } from '../search/search-test-support.js';
import type { HoldId } from '../store/hold-stores.js';
import type { BlobId } from '../store/messaging-records.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import { approvePlan } from './approval.js';
import { assertDisposable, unexpiredBuckets } from './bucket-readiness.js';
import { executePlan } from './execution.js';
import { makePlan } from './plan-making.js';

const DAY = 86_400_000;
const T_BUCKET = 'transitory-2020-01';
const P_BUCKET = 'permanent-2020-01';
const AS_OF = Date.UTC(2030, 0, 1);
/** A standard bucket whose window ends as AS_OF begins: at AS_OF it still takes late records. */
const S_BUCKET = 'standard-2029-12';
/** When S_BUCKET stops taking records: its window's end plus the 7-day late-upload grace. */
const S_OPEN_UNTIL = Date.UTC(2030, 0, 8) - 1;
/** When S_BUCKET's retention runs out: its window's end plus 7 years. */
const S_DUE = Date.UTC(2037, 0, 1);
/** An as-of date by which every non-permanent bucket here has expired. */
const FAR = Date.UTC(2100, 0, 1);
const BY = newId<DeviceId>();

function officerKeys(n: number) {
  return Array.from({ length: n }, () => {
    const k = generateKeyPairSync('ed25519');
    const sig = Buffer.from(k.publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
    const doc = encodeDeterministicCbor({ v: 1, typ: 'officer-key', hpke: Buffer.alloc(32, 1), sig });
    return { doc: Buffer.from(doc), sign: (m: Uint8Array) => sign(null, m, k.privateKey) };
  });
}

async function setUp(tb: TestBackend) {
  const s = tb.stores;
  const officers = officerKeys(3);
  const orgId = newId<OrgId>();
  await s.orgs.create({
    orgId,
    name: 'Disposition Test',
    signingPublicKey: Buffer.alloc(32, 2),
    signingKeyFingerprint: 'fp',
    rootArchivePublicKey: Buffer.alloc(32, 3),
    keyManager: { delegation: Buffer.alloc(8), notBefore: 0, notAfter: 1 },
    officerQuorum: 2,
    officers: officers.map((o, index) => ({ index, publicKey: o.doc })),
    createdAt: 0,
  });
  for (const [bucketId, retentionClass, year, month] of [
    [T_BUCKET, 'transitory', 2020, 0],
    [P_BUCKET, 'permanent', 2020, 0],
    [S_BUCKET, 'standard', 2029, 11],
  ] as const) {
    await s.buckets.create(orgId, {
      bucketId,
      retentionClass,
      period: `${year}-${String(month + 1).padStart(2, '0')}`,
      notBefore: Date.UTC(year, month, 1),
      notAfter: Date.UTC(year, month + 1, 1) - 1,
      publicKey: Buffer.alloc(32, 4),
      document: Buffer.alloc(16, 5),
      registeredBy: BY,
      registeredAt: 0,
      logIndex: 0,
    });
    for (const recipient of ['root', '0']) {
      await s.buckets.putBlob(orgId, 'officer-wrap', {
        bucketId,
        recipient,
        blob: Buffer.alloc(40, 6),
        createdBy: BY,
        createdAt: 0,
        logIndex: 0,
      });
    }
  }
  await s.buckets.putBlob(orgId, 'index-key', {
    bucketId: T_BUCKET,
    recipient: BY,
    blob: Buffer.alloc(40, 7),
    createdBy: BY,
    createdAt: 0,
    logIndex: 0,
  });
  const dt = new SyntheticDevice(orgId, T_BUCKET);
  const dp = new SyntheticDevice(orgId, P_BUCKET);
  const rec = (d: SyntheticDevice) => ({ device: d, ...d.next([]) });
  // Transitory A (received at 1 s), interleaved with permanent ones; transitory B 100 days later.
  const a = await storeRecords(s, orgId, [rec(dt), rec(dp), rec(dt), rec(dt), rec(dp), rec(dt)], 1000);
  const b = await storeRecords(s, orgId, [rec(dt), rec(dt), rec(dt)], 100 * DAY);
  const ds = new SyntheticDevice(orgId, S_BUCKET);
  const sAll = await storeRecords(s, orgId, [rec(ds)], Date.UTC(2030, 0, 3));
  const tA = [a[0]!, a[2]!, a[3]!, a[5]!];
  const pAll = [a[1]!, a[4]!];
  const tB = b;
  const tAll = [...tA, ...tB];
  const tokenT = Buffer.alloc(16, 0x11);
  const tokenP = Buffer.alloc(16, 0x22);
  await s.search.putPostings(orgId, [
    { token: tokenT, block: 0, n: tAll.length, ids: encodePostings(tAll, 0) },
    { token: tokenP, block: 0, n: pAll.length, ids: encodePostings(pAll, 0) },
  ]);
  // Sequence numbers follow each device's order of records: transitory A then B, permanent.
  const indexed = [
    ...tAll.map((logIndex, seq) => ({ logIndex, deviceId: dt.deviceId, seq, bucketId: T_BUCKET })),
    ...pAll.map((logIndex, seq) => ({ logIndex, deviceId: dp.deviceId, seq, bucketId: P_BUCKET })),
  ];
  await s.search.putIndexed(orgId, indexed);
  // One blob per record class, listed by a record of it (as ingest keeps them): a record the
  // disposition deletes releases its blob to the sweep, a held or permanent one keeps it.
  const blobOf = async (logIndex: number, bucketId: string): Promise<BlobId> => {
    const content = randomBytes(20);
    const blobId = createHash('sha256').update(content).digest('hex') as BlobId;
    await s.blobs.putContent(blobId, content);
    await s.withTransaction(async (tx) => {
      await tx.blobs.add(orgId, { blobId, size: 20, uploadedBy: BY, createdAt: 1000 }, 1_000_000);
      await tx.blobs.putReferences(orgId, [{ logIndex, bucketId, blobId }]);
    });
    return blobId;
  };
  const blobs = {
    tA: await blobOf(tA[0]!, T_BUCKET),
    tB: await blobOf(tB[0]!, T_BUCKET),
    p: await blobOf(pAll[0]!, P_BUCKET),
  };
  const wrapped = Buffer.from(encodeDeterministicCbor({ v: 1, bkt: T_BUCKET, dev: dt.deviceId, org: orgId }));
  await s.archive.putSessionKeys(orgId, [
    { keyId: createHash('sha256').update(wrapped).digest(), deviceId: dt.deviceId, wrapped, receivedAt: 0 },
  ]);
  return { orgId, officers, dt, dp, tA, tB, pAll, sAll, tokenT, tokenP, blobs };
}

type World = Awaited<ReturnType<typeof setUp>>;

for (const backend of TEST_BACKENDS) {
  const title = `disposition: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let w: World;
    const deps = () => ({ stores: tb.stores, audit: pendingTableAuditSink, clock: () => AS_OF });
    let made = AS_OF;
    /** The plan made now; `again` makes it at the same time as the last (the same plan). */
    const plan = async (again = false) =>
      (await makePlan(tb.stores, pendingTableAuditSink, w.orgId, AS_OF, BY, again ? made : ++made)).plan;
    const approve = (planId: string, officerIndex: number, signature: Buffer, orgId = w.orgId, now = AS_OF) =>
      approvePlan(tb.stores, pendingTableAuditSink, orgId, planId, { officerIndex, signature }, BY, now);
    const signAs = (k: number, planBytes: Uint8Array) =>
      w.officers[k]!.sign(dispositionApprovalMessage(planBytes));
    const present = async (ids: number[]) =>
      (await tb.stores.search.recordsAt(w.orgId, ids)).map((r) => r.logIndex).sort((x, y) => x - y);
    const tokenIds = async (token: Buffer) => {
      const [row] = await tb.stores.search.postings(w.orgId, [token], [0]);
      return row === undefined ? [] : decodePostings(row.ids, 0, row.n);
    };
    const holdId = newId<DeviceId>() as string as HoldId;
    /** Which of the world's blobs the sweep may take now (their uploads are long past). */
    const sweepable = async () => {
      const ids = await tb.stores.blobs.sweepCandidates({ uploadedBefore: AS_OF, unlistedMarginMs: 0 }, 1000);
      return Object.entries(w.blobs)
        .filter(([, id]) => ids.includes(id))
        .map(([name]) => name);
    };
    const officerList = async () => (await tb.stores.orgs.get(w.orgId))!.officers;
    /** An officer-list change act (quorum 2) putting `officers` in force. */
    const change = (seq: number, officers: Awaited<ReturnType<typeof officerList>>) =>
      tb.stores.orgs.replaceOfficers(w.orgId, officers, 2, {
        seq,
        document: Buffer.from([seq]),
        issuedAt: seq,
        changedBy: BY,
        changedAt: seq,
      });

    beforeAll(async () => {
      tb = await backend.open();
      w = await setUp(tb);
    });
    afterAll(async () => {
      await tb?.dispose();
    });

    it('leaves out of a plan for a far as-of date the bucket that still takes records, naming it', async () => {
      // A plan for 2100 made when the server's clock reads AS_OF: S_BUCKET has expired by then
      // but its late-upload grace runs until S_OPEN_UNTIL, so it waits, with the date.
      const m = await makePlan(tb.stores, pendingTableAuditSink, w.orgId, FAR, BY, AS_OF);
      expect(decodeDispositionPlan(m.plan.plan).buckets.map((b) => b.bucketId)).toEqual([T_BUCKET]);
      expect(m.notYetDisposable).toEqual([
        {
          bucketId: S_BUCKET,
          retentionClass: 'standard',
          period: '2029-12',
          recordsAcceptedUntil: S_OPEN_UNTIL,
          disposableFrom: S_OPEN_UNTIL + 1,
        },
      ]);
    });

    it('plans expired buckets only, counting the held records apart', async () => {
      await tb.stores.withTransaction((tx) =>
        tx.holds.create(w.orgId, {
          holdId,
          matter: 'Matter 1',
          scope: { kind: 'dates', from: 100 * DAY, to: 100 * DAY + 1 },
          createdBy: BY,
          createdAt: 0,
        }),
      );
      const p = await plan();
      const d = decodeDispositionPlan(p.plan);
      expect(d.orgId).toBe(w.orgId);
      expect(d.buckets.map((b) => [b.bucketId, b.records, b.held, b.span])).toEqual([
        [T_BUCKET, 4, 3, [w.tA[0], w.tB.at(-1)]],
      ]);
      expect((await plan(true)).planId).toBe(p.planId);
    });

    it('refuses too few, forged, unregistered, replayed and foreign approvals', async () => {
      const p = await plan();
      await expect(executePlan(deps(), w.orgId, p.planId, BY)).rejects.toMatchObject({
        code: 'QUORUM_NOT_MET',
      });
      await approve(p.planId, 0, signAs(0, p.plan));
      await approve(p.planId, 0, signAs(0, p.plan)); // the same approval again: still one vote
      await expect(executePlan(deps(), w.orgId, p.planId, BY)).rejects.toMatchObject({
        code: 'QUORUM_NOT_MET',
      });
      // Officer 2's signature presented as officer 1's.
      await expect(approve(p.planId, 1, signAs(2, p.plan))).rejects.toMatchObject({ code: 'INVALID_KEY' });
      // No officer 7 is registered.
      await expect(approve(p.planId, 7, signAs(0, p.plan))).rejects.toMatchObject({ code: 'INVALID_KEY' });
      // An approval of other bytes (another plan) replayed onto this one.
      const other = Buffer.from(encodeDeterministicCbor({ v: 1, typ: 'disposition-plan' }));
      await expect(approve(p.planId, 1, signAs(1, other))).rejects.toMatchObject({ code: 'INVALID_KEY' });
      // Another org's plan id is unknown here.
      const otherOrg = newId<OrgId>();
      await expect(approve(p.planId, 1, signAs(1, p.plan), otherOrg)).rejects.toMatchObject({
        code: 'DISPOSITION_NOT_FOUND',
      });
      expect((await tb.stores.disposition.approvals(w.orgId, p.planId)).map((a) => a.officerIndex)).toEqual([
        0,
      ]);
      // An officer removed after approving no longer counts: consoles check the certificate against
      // the officer list in force when it is executed (docs/officers.md), so the server does too.
      // (Its own plan, made apart: later tests go on with p.)
      const q = (await makePlan(tb.stores, pendingTableAuditSink, w.orgId, AS_OF, BY, AS_OF - DAY)).plan;
      await approve(q.planId, 0, signAs(0, q.plan));
      await approve(q.planId, 1, signAs(1, q.plan));
      const listed = await officerList();
      await change(
        1,
        listed.filter((o) => o.index !== 1),
      );
      await expect(executePlan(deps(), w.orgId, q.planId, BY)).rejects.toMatchObject({
        code: 'QUORUM_NOT_MET',
        message: expect.stringContaining('1 approval(s) of this plan by current officers, 2 needed'),
      });
      await change(2, listed);
    });

    it('executes after an interruption, keeping held records and their bucket keys', async () => {
      expect(await sweepable()).toEqual([]);
      const p = await plan(true);
      await approve(p.planId, 2, signAs(2, p.plan));
      let steps = 0;
      const crash = () => {
        steps++;
        throw new Error('simulated crash');
      };
      await expect(executePlan(deps(), w.orgId, p.planId, BY, { afterStep: crash })).rejects.toThrow(
        'simulated',
      );
      expect(steps).toBe(1);
      expect((await tb.stores.disposition.plan(w.orgId, p.planId))?.state).toBe('executing');
      // Officer 2 is removed while execution is paused: its approval no longer counts (consoles
      // judge the certificate by the list in force when it is logged), so the resume is refused
      // before any step, and nothing more is destroyed.
      const listed = await officerList();
      const without = (...gone: number[]) => listed.filter((o) => !gone.includes(o.index));
      await change(3, without(2));
      const progress = await tb.stores.disposition.progress(w.orgId, p.planId);
      const left = await present([...w.tA, ...w.tB, ...w.pAll]);
      await expect(executePlan(deps(), w.orgId, p.planId, BY)).rejects.toMatchObject({
        code: 'QUORUM_NOT_MET',
        message: expect.stringContaining(
          '1 approval(s) of this plan by current officers, 2 needed; nothing more was destroyed',
        ),
      });
      expect(await tb.stores.disposition.progress(w.orgId, p.planId)).toEqual(progress);
      expect(await present([...w.tA, ...w.tB, ...w.pAll])).toEqual(left);
      // The executing plan takes an approval from a current officer, and goes on; but officer 1
      // is removed after the last step, before the certificate: no certificate, nothing logged.
      await approve(p.planId, 1, signAs(1, p.plan));
      const removeOne = async (_b: string, q: { step: string }) => {
        if (q.step === 'done') await change(4, without(1, 2));
      };
      await expect(
        executePlan(deps(), w.orgId, p.planId, BY, { afterStep: removeOne }),
      ).rejects.toMatchObject({
        code: 'QUORUM_NOT_MET',
      });
      const stuck = (await tb.stores.disposition.plan(w.orgId, p.planId))!;
      expect([stuck.state, stuck.certificate, stuck.certificateLogIndex]).toEqual(['executing', null, null]);
      await change(5, without(2));
      const done = await executePlan(deps(), w.orgId, p.planId, BY);
      expect(done.state).toBe('executed');
      expect(await present([...w.tA, ...w.tB, ...w.pAll])).toEqual(
        [...w.tB, ...w.pAll].sort((x, y) => x - y),
      );
      expect(await tokenIds(w.tokenT)).toEqual(w.tB);
      expect(await tokenIds(w.tokenP)).toEqual(w.pAll);
      expect(await tb.stores.search.indexedRecords(w.orgId, w.tA)).toEqual([]);
      expect((await tb.stores.buckets.blobsForBucket(w.orgId, 'officer-wrap', T_BUCKET)).length).toBe(2);
      const cert = decodeDispositionCertificate(done.certificate!);
      expect(Buffer.from(cert.planHash).toString('hex')).toBe(p.planId);
      // Only the approvals that verify against the list in force when it was written: not officer 2's.
      expect(cert.approvals.map((a) => a.officerIndex)).toEqual([0, 1]);
      expect(cert.buckets).toEqual([{ bucketId: T_BUCKET, records: 4, held: 3, keysDestroyed: false }]);
      // The disposed records released their blob; the held and permanent ones keep theirs.
      expect(await sweepable()).toEqual(['tA']);
      // An executed plan takes no more approvals (officer 3, added now, never approved it).
      const [extra] = officerKeys(1);
      await change(6, [...listed, { index: 3, publicKey: extra!.doc }]);
      await expect(
        approve(p.planId, 3, Buffer.from(extra!.sign(dispositionApprovalMessage(p.plan)))),
      ).rejects.toMatchObject({ code: 'DISPOSITION_CLOSED' });
    });

    it('disposes the rest and destroys the keys once the hold is released', async () => {
      await tb.stores.withTransaction((tx) => tx.holds.release(w.orgId, holdId, BY, AS_OF, 'matter closed'));
      const p = await plan();
      expect(decodeDispositionPlan(p.plan).buckets.map((b) => [b.bucketId, b.records, b.held])).toEqual([
        [T_BUCKET, 3, 0],
      ]);
      await approve(p.planId, 1, signAs(1, p.plan));
      await approve(p.planId, 2, signAs(2, p.plan));
      // A hold placed after the plan was approved still protects what it covers.
      const late = newId<DeviceId>() as string as HoldId;
      await tb.stores.withTransaction((tx) =>
        tx.holds.create(w.orgId, {
          holdId: late,
          matter: 'Matter 2',
          scope: { kind: 'dates', from: 100 * DAY, to: 100 * DAY + 1 },
          createdBy: BY,
          createdAt: AS_OF,
        }),
      );
      const kept = await executePlan(deps(), w.orgId, p.planId, BY);
      expect(decodeDispositionCertificate(kept.certificate!).buckets).toEqual([
        { bucketId: T_BUCKET, records: 0, held: 3, keysDestroyed: false },
      ]);
      expect(await present(w.tB)).toEqual(w.tB);
      await tb.stores.withTransaction((tx) => tx.holds.release(w.orgId, late, BY, AS_OF, 'matter closed'));
      const p2 = await plan();
      expect(p2.planId).not.toBe(p.planId);
      await approve(p2.planId, 1, signAs(1, p2.plan));
      await approve(p2.planId, 2, signAs(2, p2.plan));
      // The operator settings `dispositionRequestMs: 0` and `dispositionStep: 1`: every call does
      // exactly one step of at most one record, and the calls add up to the whole disposition.
      let calls = 0;
      let done = (await tb.stores.disposition.plan(w.orgId, p2.planId))!;
      for (; done.state !== 'executed' && calls < 100; calls++) {
        let steps = 0;
        done = await executePlan(deps(), w.orgId, p2.planId, BY, {
          budgetMs: 0,
          recordsPerStep: 1,
          afterStep: () => void steps++,
        });
        expect(steps).toBeLessThanOrEqual(1);
      }
      // postings, three records steps of one record, the empty one that ends them, keys, certificate.
      expect(calls).toBe(7);
      expect(decodeDispositionCertificate(done.certificate!).buckets).toEqual([
        { bucketId: T_BUCKET, records: 3, held: 0, keysDestroyed: true },
      ]);
      // The log commits to the certificate: one `disposition` entry per bucket.
      const [entry] = await tb.stores.log.entries(
        w.orgId,
        done.certificateLogIndex!,
        done.certificateLogIndex! + 1,
      );
      expect(decodeLogEntry(entry!)).toMatchObject({
        type: 'disposition',
        bucket: T_BUCKET,
        records: 3,
        hash: new Uint8Array(createHash('sha256').update(done.certificate!).digest()),
      });
      expect(await present([...w.tA, ...w.tB, ...w.pAll])).toEqual(w.pAll);
      expect(await sweepable()).toEqual(['tA', 'tB']);
      expect(await tokenIds(w.tokenT)).toEqual([]);
      expect(await tb.stores.buckets.blobsForBucket(w.orgId, 'officer-wrap', T_BUCKET)).toEqual([]);
      expect(await tb.stores.buckets.blobsForBucket(w.orgId, 'index-key', T_BUCKET)).toEqual([]);
      expect((await tb.stores.buckets.blobsForBucket(w.orgId, 'officer-wrap', P_BUCKET)).length).toBe(2);
      expect(await tb.stores.disposition.sessionKeys(w.orgId, null, 10)).toHaveLength(3); // the three synthetic ones
      // What archive ingest reads to refuse records sealed to the bucket (BUCKET_DISPOSED).
      const disposals = await tb.stores.disposition.disposals(w.orgId, [T_BUCKET, P_BUCKET]);
      expect([...disposals.values()]).toEqual([{ bucketId: T_BUCKET, planId: p2.planId, disposedAt: AS_OF }]);
      // Nothing is left to plan: the disposed bucket is never planned again, and no empty plan is made.
      await expect(plan()).rejects.toMatchObject({ code: 'NOTHING_TO_DISPOSE' });
    });

    it('refuses a plan, an approval and an execution that would dispose of a bucket still taking records', async () => {
      const made = async (now: number) =>
        (await makePlan(tb.stores, pendingTableAuditSink, w.orgId, FAR, BY, now)).plan;
      // Every bucket expired by 2100 and not disposed still takes records: no plan, the bucket named.
      const refused = await made(AS_OF).catch((e: unknown) => e);
      expect(refused).toMatchObject({
        code: 'BUCKET_STILL_ACCEPTING',
        details: { buckets: [{ bucketId: S_BUCKET, disposableFrom: S_OPEN_UNTIL + 1 }] },
      });
      expect(String(refused)).toContain(`${S_BUCKET} still accepts records until 2030-01-07T23:59:59.999Z`);
      // A plan that holds it anyway (made by a server whose clock was ahead, or before this rule).
      const p = await made(S_OPEN_UNTIL + 1);
      expect(decodeDispositionPlan(p.plan).buckets.map((b) => b.bucketId)).toEqual([S_BUCKET]);
      // While it still takes records its retention has not run out either (a retention outlasts
      // the late-upload grace): approving is refused naming the date that matters, to the last
      // millisecond, and no approval is kept.
      for (const now of [AS_OF, S_OPEN_UNTIL + 1, S_DUE - 1]) {
        await expect(approve(p.planId, 0, signAs(0, p.plan), w.orgId, now)).rejects.toMatchObject({
          code: 'DISPOSITION_NOT_DUE',
          details: { buckets: [{ bucketId: S_BUCKET, expiresAt: S_DUE }] },
        });
      }
      expect(await tb.stores.disposition.approvals(w.orgId, p.planId)).toEqual([]);
      for (const k of [0, 1]) await approve(p.planId, k, signAs(k, p.plan), w.orgId, S_DUE);
      // The quorum approved, yet at an earlier server time (a clock set back, another API node)
      // the server executes nothing: the plan, its record and its keys are untouched.
      const at = (now: number) => ({ ...deps(), clock: () => now });
      const sLeft = () => tb.stores.disposition.bucketLeaves(w.orgId, S_BUCKET, -1, 10);
      const unchanged = async (state: string) => {
        expect((await tb.stores.disposition.plan(w.orgId, p.planId))?.state).toBe(state);
        expect(await sLeft()).toEqual(w.sAll);
        expect((await tb.stores.buckets.blobsForBucket(w.orgId, 'officer-wrap', S_BUCKET)).length).toBe(2);
        expect((await tb.stores.disposition.disposedBuckets(w.orgId)).has(S_BUCKET)).toBe(false);
      };
      // Whether it still takes records or only its retention has not run out (the plan is for
      // 2100), to the last millisecond: refused, naming when its retention runs out.
      for (const now of [AS_OF, S_OPEN_UNTIL, S_OPEN_UNTIL + 1, S_DUE - 1]) {
        const early = await executePlan(at(now), w.orgId, p.planId, BY).catch((e: unknown) => e);
        expect(early).toMatchObject({
          code: 'DISPOSITION_NOT_DUE',
          details: { buckets: [{ bucketId: S_BUCKET, expiresAt: S_DUE }] },
        });
        expect(String(early)).toContain(
          `the retention of bucket ${S_BUCKET} (standard 2029-12) runs out only at 2037-01-01T00:00:00.000Z`,
        );
      }
      await unchanged('proposed');
      // Started once it was due and interrupted after its first step, then resumed on a
      // server whose clock reads earlier again: refused without a step; resumed later, it ends.
      const crash = () => {
        throw new Error('simulated crash');
      };
      await expect(executePlan(at(S_DUE), w.orgId, p.planId, BY, { afterStep: crash })).rejects.toThrow(
        'simulated',
      );
      const progress = await tb.stores.disposition.progress(w.orgId, p.planId);
      await expect(executePlan(at(AS_OF), w.orgId, p.planId, BY)).rejects.toMatchObject({
        code: 'DISPOSITION_NOT_DUE',
      });
      await unchanged('executing');
      expect(await tb.stores.disposition.progress(w.orgId, p.planId)).toEqual(progress);
      await expect(executePlan(at(S_DUE - 1), w.orgId, p.planId, BY)).rejects.toMatchObject({
        code: 'DISPOSITION_NOT_DUE',
      });
      expect(await tb.stores.disposition.progress(w.orgId, p.planId)).toEqual(progress);
      const done = await executePlan(at(S_DUE), w.orgId, p.planId, BY);
      expect(decodeDispositionCertificate(done.certificate!).buckets).toEqual([
        { bucketId: S_BUCKET, records: 1, held: 0, keysDestroyed: true },
      ]);
      expect(await sLeft()).toEqual([]);
      // Executed, it is read back whatever the clock says (an officer's re-run to forget local wraps).
      expect((await executePlan(at(AS_OF), w.orgId, p.planId, BY)).state).toBe('executed');
      // A permanent bucket is never due, whatever the date; an expired transitory one is.
      const read = async (ids: string[]) =>
        new Map(
          await Promise.all(ids.map(async (id) => [id, await tb.stores.buckets.get(w.orgId, id)] as const)),
        );
      const never = unexpiredBuckets(await read([P_BUCKET, T_BUCKET]), FAR);
      expect(never).toEqual([
        { bucketId: P_BUCKET, retentionClass: 'permanent', period: '2020-01', expiresAt: null },
      ]);
      const refusal = (ids: string[]) =>
        assertDisposable(tb.stores, w.orgId, ids, FAR, { notDue: 'x', accepting: 'y' }).catch(
          (e: unknown) => e,
        );
      expect(await refusal([P_BUCKET, T_BUCKET])).toMatchObject({
        code: 'DISPOSITION_NOT_DUE',
        message: `bucket ${P_BUCKET} (permanent 2020-01) is kept permanently: x`,
      });
      await expect(
        assertDisposable(tb.stores, w.orgId, [T_BUCKET], FAR, { notDue: 'x', accepting: 'y' }),
      ).resolves.toBeUndefined();
      // A bucket the organisation has no record of is never destroyed on a plan's word.
      expect(await refusal(['standard-1999-01'])).toMatchObject({
        code: 'DISPOSITION_NOT_DUE',
        details: {
          buckets: [{ bucketId: 'standard-1999-01', retentionClass: null, period: null, expiresAt: null }],
        },
        message: "bucket standard-1999-01 is not one of this organisation's buckets: x",
      });
    });
  });
}
