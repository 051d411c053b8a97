/**
 * Device batch signatures kept at ingest (docs/archive-format.md §6) on every backend: one
 * row per accepted batch, written in the records' transaction; served with the records by
 * GET /v1/orgs/:orgId/archive/records so that each record's signature verifies offline; a
 * longer re-send (replayed prefix plus new records) supersedes a shorter signature and stays
 * findable when batches overlap; a refused batch leaves no signature behind.
 */
import { createHash } from 'node:crypto';
import { signBatch, verifyBatch, type RecordHash } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sequencingAuditSink } from '../log-service/audit-sequencing.js';
import { LogIntegrator } from '../log-service/integration.js';
import { silentLogger } from '../log/logger.js';
import { call, createTestApp, type TestApp } from '../testing/test-app.js';
import { testLogKey } from '../testing/test-org-row.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import { ArchiveWriter, createArchivingOrg, uploadBody, type ArchivingOrg } from './archive-test-support.js';

type Batch = ReturnType<ArchiveWriter['batch']>;

interface RecordOut {
  hash: string;
  deviceId: string;
  seq: number;
  identityKey: string;
  batch: { firstSeq: number; signature: string; hashes: string[] } | null;
}

const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64url');
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64url'));
const hashOf = (r: Uint8Array): RecordHash =>
  new Uint8Array(createHash('sha256').update(r).digest()) as RecordHash;

for (const backend of TEST_BACKENDS) {
  const title = `archive batch signatures: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: TestApp;
    let org: ArchivingOrg;
    let writer: ArchiveWriter;
    let integrator: LogIntegrator;

    const upload = (b: Pick<Batch, 'records' | 'signature' | 'sessionKeys'>) =>
      call(t.app, 'POST', '/v1/archive/batches', uploadBody(b), writer.device.headers());
    const covering = (seq: number) => tb.stores.search.batchCovering(org.orgId, writer.device.deviceId, seq);
    /** `batches` re-signed as one batch, as a device re-sending after a lost answer does. */
    const merged = (...batches: Batch[]): Batch => {
      const records = batches.flatMap((b) => b.records);
      const ctx = writer.sealer.context;
      const firstSeq = batches[0]!.firstSeq;
      const signature = signBatch(writer.device.identity, {
        org: ctx.org,
        device: ctx.device,
        firstSeq,
        hashes: records.map(hashOf),
      });
      return { records, signature, sessionKeys: batches.flatMap((b) => b.sessionKeys), firstSeq };
    };

    beforeAll(async () => {
      tb = await backend.open();
      t = await createTestApp(tb.stores, { audit: sequencingAuditSink });
      t.clock.now = 1_700_000_000_000;
      org = await createArchivingOrg(t, 1);
      writer = await ArchiveWriter.create(org, org.members[0]!);
      integrator = new LogIntegrator({
        stores: tb.stores,
        key: testLogKey(),
        host: () => 'custos.test',
        logger: silentLogger,
        clock: () => t.clock.now,
      });
    });
    afterAll(async () => {
      await t?.app.close();
      await tb?.dispose();
    });

    it('keeps each batch signature and serves it with the records, verifiable offline', async () => {
      const sent = [writer.batch(3), writer.batch(4)];
      for (const b of sent) expect((await upload(b)).statusCode).toBe(200);
      await integrator.integrateAll();
      const r = await call(
        t.app,
        'GET',
        `/v1/orgs/${org.orgId}/archive/records?device=${writer.device.deviceId}&fromSeq=0`,
        undefined,
        org.officer.headers(),
      );
      expect(r.statusCode, r.body).toBe(200);
      const records = r.json<{ records: RecordOut[] }>().records;
      expect(records.map((x) => x.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      const device = await tb.stores.devices.get(org.orgId, writer.device.deviceId);
      for (const x of records) {
        const own = sent[x.seq < 3 ? 0 : 1]!;
        expect(x.identityKey).toBe(b64(device!.identityKey));
        expect(x.batch).toEqual({
          firstSeq: own.firstSeq,
          signature: b64(own.signature),
          hashes: own.records.map((rec) => b64(hashOf(rec))),
        });
        expect(x.batch!.hashes[x.seq - x.batch!.firstSeq]).toBe(x.hash);
        verifyBatch(
          unb64(x.identityKey),
          {
            org: writer.sealer.context.org,
            device: writer.sealer.context.device,
            firstSeq: x.batch!.firstSeq,
            hashes: x.batch!.hashes.map((h) => unb64(h) as RecordHash),
          },
          unb64(x.batch!.signature),
        );
      }
    });

    it('a longer re-send supersedes a shorter signature; a replay or shorter one does not', async () => {
      const a = writer.batch(2);
      expect((await upload(a)).statusCode).toBe(200);
      const b = writer.batch(2);
      const ab = merged(a, b);
      const r = await upload(ab);
      expect(r.json<{ stored: number }>().stored).toBe(2);
      for (const seq of [a.firstSeq, b.firstSeq + 1]) {
        expect(await covering(seq)).toEqual({
          deviceId: writer.device.deviceId,
          firstSeq: a.firstSeq,
          count: 4,
          signature: Buffer.from(ab.signature),
          // The hashes it signs, kept with it (a held record still verifies after disposition).
          hashes: Buffer.concat(ab.records.map(hashOf)),
        });
      }
      // The shorter batch again: a replay, and the longer signature stays.
      expect((await upload(a)).json<{ stored: number }>().stored).toBe(0);
      expect((await covering(a.firstSeq))?.count).toBe(4);
      expect(Buffer.from((await covering(a.firstSeq))!.signature)).toEqual(Buffer.from(ab.signature));
    });

    it('finds the covering signature when a later-starting batch ends before the record', async () => {
      const a = writer.batch(2);
      const b = writer.batch(2);
      for (const x of [a, b]) expect((await upload(x)).statusCode).toBe(200);
      // Re-sent from a's start with two new records: the row of b (started later) ends before them.
      const c = writer.batch(2);
      expect((await upload(merged(a, b, c))).json<{ stored: number }>().stored).toBe(2);
      expect((await covering(b.firstSeq))?.firstSeq).toBe(b.firstSeq);
      expect(await covering(c.firstSeq + 1)).toMatchObject({ firstSeq: a.firstSeq, count: 6 });
      expect(await covering(c.firstSeq + 2)).toBeUndefined();
    });

    it('a refused batch leaves no signature', async () => {
      const m = writer.mark();
      const forged = writer.batch(2);
      writer.reset(m);
      const bad = Uint8Array.from(forged.records[1]!);
      bad[bad.length - 1]! ^= 1;
      const r = await upload({ ...forged, records: [forged.records[0]!, bad] });
      expect(r.statusCode).toBe(400);
      expect(await covering(forged.firstSeq)).toBeUndefined();
      // A gap: checked against the store, after the signature; nothing is kept either.
      writer.batch(1);
      const gap = writer.batch(1);
      expect((await upload(gap)).statusCode).toBe(409);
      expect(await covering(gap.firstSeq)).toBeUndefined();
      expect(await covering(gap.firstSeq - 1)).toBeUndefined();
    });
  });
}
