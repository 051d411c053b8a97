/**
 * Archive ingest through the HTTP app (app.inject), on every backend: the happy path to a
 * verified receipt, and each bad input class of threat model F16 with the store compared
 * before and after. On PostgreSQL, an ingest and a disposition of the same bucket on two
 * nodes, in both orders of the bucket's lock.
 */
import { createHash, sign } from 'node:crypto';
import {
  decodeDispositionPlan,
  dispositionApprovalMessage,
  hashLeaf,
  openCheckpoint,
  verifyInclusion,
  verifyReceipt,
  signBatch,
  type RecordHash,
} from '@custos/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executePlan } from '../disposition/execution.js';
import { makePlan } from '../disposition/plan-making.js';
import { sequencingAuditSink } from '../log-service/audit-sequencing.js';
import { LogIntegrator } from '../log-service/integration.js';
import { silentLogger } from '../log/logger.js';
import { newId, type OrgId } from '../ids.js';
import { call, createTestApp, type TestApp, type TestDevice } from '../testing/test-app.js';
import { PG_BUCKET_LOCK_CLASS } from '../store/archive-stores.js';
import { openStore } from '../store/open-store.js';
import type { StoreBackend, Stores } from '../store/stores.js';
import { testLogKey } from '../testing/test-org-row.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import {
  ArchiveWriter,
  createArchivingOrg,
  registerTestBucket,
  uploadBody,
  type ArchivingOrg,
} from './archive-test-support.js';
import { ArchiveCommitter } from './batch-commit.js';
import { verifyUpload } from './batch-verification.js';
import { ARCHIVE_BATCH_MEDIA_TYPE, encodeBatchUpload } from './batch-wire.js';

const logKey = testLogKey();
/** The test app's clock. */
const t0 = 1_700_000_000_000;

for (const backend of TEST_BACKENDS) {
  const title = `archive ingest: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: TestApp;
    let org: ArchivingOrg;
    let integrator: LogIntegrator;
    let writer: ArchiveWriter;

    const upload = (w: ArchiveWriter, b: ReturnType<ArchiveWriter['batch']>, by = w.device) =>
      call(t.app, 'POST', '/v1/archive/batches', uploadBody(b), by.headers());

    /** Registers (as the org's officer) a bucket of `window` signed by the key manager; its public key. */
    const registerBucket = (bucketId: string, window: { notBefore: number; notAfter: number }) =>
      registerTestBucket(t.app, org, bucketId, window);

    const snapshot = async () => ({
      records: await tb.stores.archive.count(org.orgId),
      log: await tb.stores.log.backlog(org.orgId),
    });

    beforeAll(async () => {
      tb = await backend.open();
      t = await createTestApp(tb.stores, { audit: sequencingAuditSink });
      t.clock.now = t0;
      org = await createArchivingOrg(t, 2);
      integrator = new LogIntegrator({
        stores: tb.stores,
        key: logKey,
        host: () => 'custos.test',
        logger: silentLogger,
        clock: () => t.clock.now,
      });
      writer = await ArchiveWriter.create(org, org.members[0]!);
    });
    afterAll(async () => {
      await t?.app.close();
      await tb?.dispose();
    });

    it('stores a signed batch, returns indexes, and its receipts verify against a signed checkpoint', async () => {
      const b = writer.batch(10);
      const r = await upload(writer, b);
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json<{ logIndexes: number[]; stored: number; head: { seq: number } }>();
      expect(body.stored).toBe(10);
      expect(body.head.seq).toBe(9);
      const idx = body.logIndexes;
      expect(idx.slice(1).every((v, i) => v === idx[i]! + 1)).toBe(true);

      // Before the first integration pass the org has no log; an unknown org is said so apart.
      const early = await call(t.app, 'GET', `/v1/orgs/${org.orgId}/log`);
      expect([early.statusCode, early.json<{ error: { message: string } }>().error.message]).toEqual([
        404,
        expect.stringMatching(/^this organisation has no log yet/),
      ]);
      const unknown = await call(t.app, 'GET', `/v1/orgs/${newId<OrgId>()}/log`);
      expect([unknown.statusCode, unknown.json<{ error: { message: string } }>().error.message]).toEqual([
        404,
        expect.stringMatching(/^no organisation with this id on this server/),
      ]);
      await integrator.integrateAll();
      const info = (await call(t.app, 'GET', `/v1/orgs/${org.orgId}/log`)).json<{
        origin: string;
        verifierKey: string;
        treeSize: number;
        checkpoint: string;
      }>();
      expect(info.origin).toBe(`custos.test/${org.orgId}`);
      const opened = openCheckpoint(info.checkpoint, [info.verifierKey], info.origin);
      expect(opened.checkpoint.treeSize).toBe(info.treeSize);
      expect(info.treeSize).toBeGreaterThan(idx[9]!);

      for (const i of [idx[0]!, idx[9]!]) {
        const rc = await call(t.app, 'GET', `/v1/orgs/${org.orgId}/log/receipts/${i}`);
        expect(rc.statusCode).toBe(200);
        const entries = await tb.stores.log.entries(org.orgId, i, i + 1);
        verifyReceipt(rc.body, hashLeaf(entries[0]!), [info.verifierKey], info.origin);
        const p = (await call(t.app, 'GET', `/v1/orgs/${org.orgId}/log/proof/inclusion?index=${i}`)).json<{
          index: number;
          proof: string[];
        }>();
        expect(p.index).toBe(i);
        verifyInclusion(
          hashLeaf(entries[0]!),
          i,
          info.treeSize,
          p.proof.map((h) => Buffer.from(h, 'base64url')),
          opened.checkpoint.rootHash,
        );
      }
      // Entries are addressed by index only (docs/log.md §10): no lookup by leaf hash.
      const entry0 = (await tb.stores.log.entries(org.orgId, idx[0]!, idx[0]! + 1))[0]!;
      const byHash = await call(
        t.app,
        'GET',
        `/v1/orgs/${org.orgId}/log/proof/inclusion?leafHash=${Buffer.from(hashLeaf(entry0)).toString('base64url')}`,
      );
      expect(byHash.statusCode).toBe(400);
      expect(byHash.json<{ error: { code: string } }>().error.code).toBe('INVALID_REQUEST');
      const head = (await call(t.app, 'GET', '/v1/archive/head', undefined, writer.device.headers())).json<{
        nextSeq: number;
      }>();
      expect(head.nextSeq).toBe(10);
    });

    it('a replayed batch returns the same indexes and stores nothing', async () => {
      const b = writer.batch(5);
      const first = await upload(writer, b);
      expect(first.statusCode).toBe(200);
      const before = await snapshot();
      const again = await upload(writer, b);
      expect(again.statusCode).toBe(200);
      expect(again.json<{ logIndexes: number[]; stored: number }>()).toMatchObject({
        logIndexes: first.json<{ logIndexes: number[] }>().logIndexes,
        stored: 0,
      });
      expect(await snapshot()).toEqual(before);
    });

    const refused = async (
      status: number,
      code: string,
      send: () => Promise<{ statusCode: number; body: string }>,
    ) => {
      const before = await snapshot();
      const r = await send();
      expect(r.statusCode, r.body).toBe(status);
      expect(JSON.parse(r.body)).toMatchObject({ error: { code } });
      expect(await snapshot()).toEqual(before);
      return JSON.parse(r.body) as { error: { message: string } };
    };

    it('refuses a forged record (altered after signing)', async () => {
      const m = writer.mark();
      const b = writer.batch(3);
      writer.reset(m);
      const tampered = Uint8Array.from(b.records[1]!);
      tampered[tampered.length - 1]! ^= 1;
      await refused(400, 'BATCH_SIGNATURE_INVALID', () =>
        upload(writer, { ...b, records: [b.records[0]!, tampered, b.records[2]!] }),
      );
    });

    it('refuses a batch signed by another device', async () => {
      const other = org.members[1]!;
      const m = writer.mark();
      const b = writer.batch(2);
      writer.reset(m);
      const sig = signBatch(other.identity, {
        org: writer.sealer.context.org,
        device: writer.sealer.context.device,
        firstSeq: b.firstSeq,
        hashes: b.records.map((r) => createHash('sha256').update(r).digest() as Uint8Array as RecordHash),
      });
      await refused(400, 'BATCH_SIGNATURE_INVALID', () => upload(writer, { ...b, signature: sig }));
    });

    it("refuses records naming another device, uploaded with another device's token", async () => {
      const b = writer.batch(2);
      await refused(400, 'ARCHIVE_RECORD_INVALID', () => upload(writer, b, org.members[1]));
    });

    it('refuses a gap and states the expected sequence number', async () => {
      // The previous test advanced the writer by 2 unsent records: this batch starts after a gap.
      const head = (await tb.stores.archive.head(org.orgId, writer.device.deviceId))!;
      const b = writer.batch(2);
      const err = await refused(409, 'ARCHIVE_SEQUENCE_GAP', () => upload(writer, b));
      expect(err.error.message).toContain(`expected sequence number ${head.seq + 1}`);
    });

    it('refuses a fork: another record at a used sequence number', async () => {
      const fresh = await ArchiveWriter.create(org, writer.device);
      const b = fresh.batch(1); // seq 0 again, different bytes
      const err = await refused(409, 'ARCHIVE_FORK', () => upload(fresh, b));
      expect(err.error.message).toMatch(/expected sequence number \d+/);
    });

    it('refuses an unknown and an expired bucket', async () => {
      const m = org.members[1]!;
      const w = await ArchiveWriter.create({ ...org, bucketId: 'nope-2026' }, m);
      await refused(404, 'BUCKET_NOT_FOUND', () => upload(w, w.batch(1)));

      const window = { notBefore: 1_600_000_000_000, notAfter: 1_600_000_100_000 };
      const publicKey = await registerBucket('old-2020', window);
      const old = await ArchiveWriter.create({ ...org, bucketId: 'old-2020', bucketKey: publicKey }, m);
      await refused(409, 'BUCKET_NOT_VALID', () => upload(old, old.batch(1)));
    });

    it('refuses an oversized body and a malformed one', async () => {
      const m = writer.mark();
      const b = writer.batch(1);
      writer.reset(m);
      const big = { ...uploadBody(b), records: Array.from({ length: 9 }, () => 'A'.repeat(1_000_000)) };
      await refused(413, 'BODY_TOO_LARGE', () =>
        call(t.app, 'POST', '/v1/archive/batches', big, writer.device.headers()),
      );
      await refused(400, 'INVALID_REQUEST', () =>
        call(
          t.app,
          'POST',
          '/v1/archive/batches',
          { ...uploadBody(b), records: [] },
          writer.device.headers(),
        ),
      );
      await refused(400, 'ARCHIVE_RECORD_INVALID', () =>
        call(
          t.app,
          'POST',
          '/v1/archive/batches',
          { ...uploadBody(b), records: ['AAAA'] },
          writer.device.headers(),
        ),
      );
    });

    it('accepts the binary body, replays it idempotently, and refuses it malformed or mislabelled', async () => {
      // Earlier tests sealed records they never stored: continue from the stored head.
      const head = await tb.stores.archive.head(org.orgId, writer.device.deviceId);
      writer.seq = head === undefined ? 0 : head.seq + 1;
      if (head !== undefined) writer.prev = head.hash as Uint8Array as RecordHash;
      const b = writer.batch(5);
      const send = (payload: Buffer, type = ARCHIVE_BATCH_MEDIA_TYPE) =>
        t.app.inject({
          method: 'POST',
          url: '/v1/archive/batches',
          headers: { ...writer.device.headers(), 'content-type': type },
          payload,
        });
      const bin = encodeBatchUpload(b);
      const first = await send(bin);
      expect(first.statusCode, first.body).toBe(200);
      const body = first.json<{ logIndexes: number[]; stored: number; head: { seq: number } }>();
      expect(body.stored).toBe(5);
      expect(body.head.seq).toBe(b.firstSeq + 4);
      const again = await send(bin);
      expect(again.json<{ logIndexes: number[]; stored: number }>()).toMatchObject({
        logIndexes: body.logIndexes,
        stored: 0,
      });
      const before = await snapshot();
      await refused(400, 'INVALID_REQUEST', () => send(bin, 'application/octet-stream'));
      await refused(400, 'INVALID_REQUEST', () => send(bin.subarray(0, bin.length - 1)));
      await refused(400, 'INVALID_REQUEST', () => send(Buffer.concat([bin, Buffer.of(0)])));
      const m = writer.mark();
      const forged = encodeBatchUpload(writer.batch(2));
      writer.reset(m);
      forged[forged.length - 1]! ^= 1;
      await refused(400, 'BATCH_SIGNATURE_INVALID', () => send(forged));
      expect(await snapshot()).toEqual(before);
    });

    it('commits concurrent batches of several devices in one group, chained ones in order', async () => {
      // A fresh store: the shared one's bootstrap token is spent.
      const tb2 = await backend.open();
      const t2 = await createTestApp(tb2.stores, { audit: sequencingAuditSink });
      t2.clock.now = t.clock.now;
      const upload = (w: ArchiveWriter, b: ReturnType<ArchiveWriter['batch']>) =>
        call(t2.app, 'POST', '/v1/archive/batches', uploadBody(b), w.device.headers());
      const g = await createArchivingOrg(t2, 2);
      const [a, b] = await Promise.all(g.members.map((m) => ArchiveWriter.create(g, m)));
      const a1 = a!.batch(3);
      const a2 = a!.batch(4);
      const b1 = b!.batch(5);
      const m = b!.mark();
      b!.batch(1);
      const gap = b!.batch(2); // skips one record: refused, without harming the others
      b!.reset(m);
      const rs = await Promise.all([
        upload(a!, a1),
        upload(a!, a2),
        upload(b!, b1),
        upload(a!, a1),
        upload(b!, gap),
      ]);
      expect(rs.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 409]);
      const idx = rs.slice(0, 4).map((r) => r.json<{ logIndexes: number[]; stored: number }>());
      expect(idx.map((x) => x.stored)).toEqual([3, 4, 5, 0]);
      expect(idx[3]!.logIndexes).toEqual(idx[0]!.logIndexes);
      const all = idx.slice(0, 3).flatMap((x) => x.logIndexes);
      expect(new Set(all).size).toBe(12);
      expect(await tb2.stores.archive.count(g.orgId)).toBe(12);
      // Every stored record is sequenced at the index its receipt names.
      for (const [w, x] of [
        [a!, idx[0]!],
        [a!, idx[1]!],
        [b!, idx[2]!],
      ] as const) {
        const head = await tb2.stores.archive.head(g.orgId, w.device.deviceId);
        expect(head).toBeDefined();
        for (const li of x.logIndexes) {
          const [entry] = await tb2.stores.log.entries(g.orgId, li, li + 1);
          expect(entry).toBeDefined();
        }
      }
      expect((await tb2.stores.archive.head(g.orgId, a!.device.deviceId))!.seq).toBe(6);
      expect((await tb2.stores.archive.head(g.orgId, b!.device.deviceId))!.seq).toBe(4);
      await t2.app.close();
      await tb2.dispose();
    }, 30_000); // a safety net only: it creates a database and an org, seconds on a loaded machine

    it("commits a device's batches in arrival order, also while an earlier group is under way", async () => {
      const other = await ArchiveWriter.create(org, org.members[1]!);
      // The first group's transaction starts late, so a second group (PostgreSQL runs two)
      // would take its locks first if it held this device's later batches.
      let transactions = 0;
      const firstLate: Stores = {
        ...tb.stores,
        withTransaction: async (fn) => {
          if (transactions++ === 0) await new Promise((r) => setTimeout(r, 200));
          return tb.stores.withTransaction(fn);
        },
      };
      const committer = new ArchiveCommitter(firstLate, () => t.clock.now);
      const verified = async (w: ArchiveWriter, n: number) => {
        const device = await tb.stores.devices.get(org.orgId, w.device.deviceId);
        return verifyUpload(org.orgId, w.device.deviceId, device!.identityKey, w.batch(n));
      };
      const mine = [await verified(writer, 2), await verified(writer, 3), await verified(writer, 1)];
      const theirs = [await verified(other, 3), await verified(other, 2)];
      // The first batch's group starts alone; the rest arrive while it runs (on PostgreSQL
      // a second group may start then, and must leave this device's later batches alone).
      const first = committer.commit(mine[0]!);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      const rest = [
        ...mine.slice(1).map((b) => committer.commit(b)),
        ...theirs.map((b) => committer.commit(b)),
      ];
      const receipts = await Promise.all([first, ...rest]);
      expect(receipts.map((r) => r.stored)).toEqual([2, 3, 1, 3, 2]);
      for (const [w, got] of [
        [writer, receipts.slice(0, 3)],
        [other, receipts.slice(3)],
      ] as const) {
        // Later batches of a device get later indexes, and its chain holds every record.
        const indexes = got.flatMap((r) => r.logIndexes);
        expect(indexes.every((v, i) => i === 0 || v > indexes[i - 1]!)).toBe(true);
        const head = await tb.stores.archive.head(org.orgId, w.device.deviceId);
        expect(head?.logIndex).toBe(indexes[indexes.length - 1]);
      }
    });

    describe('a disposed bucket (its keys destroyed)', () => {
      // Node B: a second API node over the same store (another process on SQLite).
      let b: TestApp;
      let storesB: StoreBackend;
      const planId = 'ab'.repeat(32);
      const now = t0;
      /** Inside the windows below: a clock set back by years. */
      const setBack = 1_692_000_000_000;
      /** An as-of date by which every bucket here has expired. */
      const farAsOf = Date.UTC(2100, 0, 1);
      beforeAll(async () => {
        storesB = await openStore(tb.config);
        b = await createTestApp(storesB, { audit: sequencingAuditSink });
      });
      afterAll(async () => {
        t.clock.now = now;
        await b?.app.close();
        await storesB?.close();
      });

      /** A writer of `device` sealing to a new bucket of an old window, chained after the stored head. */
      const oldBucketWriter = async (bucketId: string, device: TestDevice) => {
        const window = { notBefore: 1_690_000_000_000, notAfter: 1_695_000_000_000 };
        const publicKey = await registerBucket(bucketId, window);
        const w = await ArchiveWriter.create({ ...org, bucketId, bucketKey: publicKey }, device);
        const head = await tb.stores.archive.head(org.orgId, device.deviceId);
        w.seq = head === undefined ? 0 : head.seq + 1;
        if (head !== undefined) w.prev = head.hash as Uint8Array as RecordHash;
        return w;
      };

      /** What a disposition's keys step leaves, done on node B: the bucket marked disposed. */
      const disposeOnB = (bucketId: string, at: number) =>
        storesB.withTransaction(async (tx) => {
          await tx.disposition.lockBucket(org.orgId, bucketId);
          await tx.disposition.markDisposed(org.orgId, bucketId, planId, at);
        });

      it('refuses its records on every node whatever the clock says, naming the plan, and stores nothing', async () => {
        // The ingest reads the disposal inside its transaction, never from a cache: node A,
        // which took records for the bucket before node B disposed of it, refuses them after.
        const w = await oldBucketWriter('gone-2023', org.members[1]!);
        t.clock.now = setBack;
        expect((await upload(w, w.batch(2))).statusCode).toBe(200);
        const at = now + 1234;
        await disposeOnB('gone-2023', at);
        const m = w.mark();
        const err = await refused(409, 'BUCKET_DISPOSED', () => upload(w, w.batch(3)));
        expect(err.error.message).toContain(
          `bucket gone-2023 was disposed of at ${new Date(at).toISOString()} under disposition plan ${planId}`,
        );
        expect(err.error).toMatchObject({ details: { bucketId: 'gone-2023', planId, disposedAt: at } });
        // Node B's clock is right: the bucket's window is long over, yet the disposal is what it says.
        w.reset(m);
        const onB = () =>
          call(b.app, 'POST', '/v1/archive/batches', uploadBody(w.batch(3)), w.device.headers());
        await refused(409, 'BUCKET_DISPOSED', onB);
      });

      it.skipIf(backend.name !== 'postgres')(
        'refuses a batch that waited for a disposition committing meanwhile on another node',
        async () => {
          const w = await oldBucketWriter('race-2023', org.members[1]!);
          t.clock.now = setBack;
          const before = await snapshot();
          if (tb.config.kind !== 'postgres') throw new Error('PostgreSQL only');
          const probe = new pg.Client({ connectionString: tb.config.url });
          await probe.connect();
          try {
            // Node B's keys step holds the bucket's lock while node A's batch arrives: the batch
            // waits for it, then sees the disposal (without the lock it was stored, unopenable).
            const answer = await storesB.withTransaction(async (tx) => {
              await tx.disposition.lockBucket(org.orgId, 'race-2023');
              let answered = false;
              const sent = upload(w, w.batch(2)).finally(() => (answered = true));
              const waiting = async (): Promise<'waiting' | 'answered'> => {
                while (!answered) {
                  const r = await probe.query(
                    // This test's database only: other test files' databases share the server.
                    `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1
                      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
                    [PG_BUCKET_LOCK_CLASS],
                  );
                  if (r.rowCount !== 0) return 'waiting';
                }
                return 'answered';
              };
              expect(await Promise.race([waiting(), sent.then(() => 'answered')])).toBe('waiting');
              expect(await tx.disposition.bucketHasRecords(org.orgId, 'race-2023')).toBe(false);
              await tx.disposition.markDisposed(org.orgId, 'race-2023', planId, now);
              return { sent };
            });
            const r = await answer.sent;
            expect(r.statusCode, r.body).toBe(409);
            expect(r.json<{ error: { code: string } }>().error.code).toBe('BUCKET_DISPOSED');
            expect(await snapshot()).toEqual(before);
          } finally {
            await probe.end();
          }
        },
      );

      it.skipIf(backend.name !== 'postgres')(
        "keeps a bucket's keys when its disposition waited for an ingest committing records to it on another node",
        async () => {
          // The other order of the race above: node A's ingest holds the bucket's lock shared,
          // its records written but not committed, while node B executes a disposition of the
          // bucket. B's keys step waits for the lock, then sees the records and keeps the keys
          // (destroyed, they would leave records stored and acknowledged that nobody can open).
          if (tb.config.kind !== 'postgres') throw new Error('PostgreSQL only');
          const bucketId = 'kept-2023';
          const w = await oldBucketWriter(bucketId, org.members[1]!);
          const by = org.officer.deviceId;
          await tb.stores.buckets.putBlob(org.orgId, 'officer-wrap', {
            bucketId,
            recipient: 'root',
            blob: Buffer.alloc(40, 6),
            createdBy: by,
            createdAt: now,
            logIndex: 0,
          });
          // Node B's plan, made while the bucket is empty; the quorum's approvals are stored
          // as approvePlan stores them, signed by the officers' keys (execution counts only
          // approvals that verify with the current officer list).
          const { plan } = await makePlan(storesB, sequencingAuditSink, org.orgId, farAsOf, by, now);
          expect(decodeDispositionPlan(plan.plan).buckets.map((x) => x.bucketId)).toContain(bucketId);
          for (const officerIndex of [0, 1])
            await storesB.disposition.putApproval(org.orgId, plan.planId, {
              officerIndex,
              signature: sign(
                null,
                dispositionApprovalMessage(plan.plan),
                org.officers[officerIndex]!.signingKey,
              ),
              deviceId: by,
              at: now,
            });
          // Node A's ingest (its clock set back into the bucket's window) writes the batch
          // and then holds its transaction open, with the bucket's lock shared, until let go.
          const device = await tb.stores.devices.get(org.orgId, w.device.deviceId);
          const batch = verifyUpload(org.orgId, w.device.deviceId, device!.identityKey, w.batch(2));
          let letGo!: () => void;
          const commitAllowed = new Promise<void>((resolve) => (letGo = resolve));
          let written!: () => void;
          const inTransaction = new Promise<void>((resolve) => (written = resolve));
          const holding: Stores = {
            ...tb.stores,
            withTransaction: (fn) =>
              tb.stores.withTransaction(async (tx) => {
                const r = await fn(tx);
                written();
                await commitAllowed;
                return r;
              }),
          };
          const receipt = new ArchiveCommitter(holding, () => setBack).commit(batch);
          const probe = new pg.Client({ connectionString: tb.config.url });
          await probe.connect();
          let executed: Promise<unknown> | undefined;
          try {
            await Promise.race([inTransaction, receipt]);
            // B's keys step waits for the lock: B's only wait here, and on nothing else.
            let answered = false;
            // Node B's clock at the plan's date: every planned bucket's retention has run out.
            executed = executePlan(
              { stores: storesB, audit: sequencingAuditSink, clock: () => farAsOf },
              org.orgId,
              plan.planId,
              by,
            ).finally(() => (answered = true));
            executed.catch(() => undefined); // awaited below
            const waiting = async (): Promise<string> => {
              while (!answered) {
                const r = await probe.query<{ wait_event: string; bucket_lock: boolean | null }>(
                  `SELECT a.wait_event, l.classid = $1 AS bucket_lock FROM pg_stat_activity a
                    LEFT JOIN pg_locks l ON l.pid = a.pid AND NOT l.granted
                    WHERE a.datname = current_database() AND a.wait_event_type = 'Lock'`,
                  [PG_BUCKET_LOCK_CLASS],
                );
                if (r.rows.some((x) => x.bucket_lock === true)) return 'waiting for the bucket lock';
                if (r.rows[0] !== undefined) return `waiting for ${r.rows[0].wait_event}`;
              }
              return 'answered';
            };
            expect(await waiting()).toBe('waiting for the bucket lock');
          } finally {
            letGo();
            await probe.end();
          }
          expect((await receipt).stored).toBe(2);
          await executed;
          // The keys step saw the committed records: keys kept, bucket not disposed, and its
          // records stay openable and it takes more.
          const progress = await storesB.disposition.progress(org.orgId, plan.planId);
          expect(progress.find((p) => p.bucketId === bucketId)).toMatchObject({
            step: 'done',
            keysDestroyed: false,
          });
          expect((await storesB.disposition.plan(org.orgId, plan.planId))?.state).toBe('executed');
          expect((await storesB.disposition.disposals(org.orgId, [bucketId])).size).toBe(0);
          expect(await storesB.buckets.blobsForBucket(org.orgId, 'officer-wrap', bucketId)).toHaveLength(1);
          expect(await storesB.disposition.bucketHasRecords(org.orgId, bucketId)).toBe(true);
          t.clock.now = setBack;
          expect((await upload(w, w.batch(1))).statusCode).toBe(200);
        },
      );
    });

    it('refuses an anonymous upload', async () => {
      const m = writer.mark();
      const b = writer.batch(1);
      writer.reset(m);
      await refused(401, 'AUTH_REQUIRED', () => call(t.app, 'POST', '/v1/archive/batches', uploadBody(b)));
    });
  });
}
