/**
 * Gap declarations (docs/archive-format.md §6.1) through the HTTP app, on every backend: a
 * device whose acknowledged records the server lost declares them, the declaration is
 * logged as an archive-gap entry and the chain continues from it; a repeat is answered
 * idempotently; every forged, replayed, misplaced or foreign declaration is refused with
 * the whole store unchanged.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  decodeLogEntry,
  signGapDeclaration,
  verifyGapDeclaration,
  type GapDeclaration,
  type RecordHash,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBootstrapToken, sha256 } from '../crypto/secrets.js';
import { sequencingAuditSink } from '../log-service/audit-sequencing.js';
import { call, createTestApp, type TestApp, type TestDevice } from '../testing/test-app.js';
import { openSnapshotter, TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import {
  ArchiveWriter,
  createArchivingOrg,
  declareGap,
  uploadBody,
  type ArchivingOrg,
} from './archive-test-support.js';

for (const backend of TEST_BACKENDS) {
  const title = `archive gap declarations: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: TestApp;
    let org: ArchivingOrg;
    let writer: ArchiveWriter;

    const upload = (b: ReturnType<ArchiveWriter['batch']>, by: TestDevice = writer.device) =>
      call(t.app, 'POST', '/v1/archive/batches', uploadBody(b), by.headers());
    const declare = (document: Uint8Array, by: TestDevice = writer.device) =>
      call(
        t.app,
        'POST',
        '/v1/archive/gaps',
        { declaration: Buffer.from(document).toString('base64url') },
        by.headers(),
      );
    const nextSeq = async (by: TestDevice = writer.device) =>
      (await call(t.app, 'GET', '/v1/archive/head', undefined, by.headers())).json<{ nextSeq: number }>()
        .nextSeq;

    beforeAll(async () => {
      tb = await backend.open();
      t = await createTestApp(tb.stores, { audit: sequencingAuditSink });
      t.clock.now = 1_700_000_000_000;
      org = await createArchivingOrg(t, 2);
      writer = await ArchiveWriter.create(org, org.members[0]!);
    });
    afterAll(async () => {
      await t?.app.close();
      await tb?.dispose();
    });

    it('accepts a declaration of exactly the missing run, logs it, and the chain continues from it', async () => {
      expect((await upload(writer.batch(3))).statusCode).toBe(200); // 0…2 stored
      // 3…5 were acknowledged, then lost with the server's restore; the device no longer holds them.
      const m = writer.mark();
      const lost = writer.batch(3);
      const lastLost = createHash('sha256').update(lost.records[2]!).digest() as Uint8Array as RecordHash;
      // As before the fix: what the device has next is refused as a gap, for good.
      expect((await upload(writer.batch(1))).json<{ error: { code: string } }>().error.code).toBe(
        'ARCHIVE_SEQUENCE_GAP',
      );
      writer.reset(m);

      const gap = declareGap(writer, 3, 'server-restored', Uint8Array.from(lastLost) as RecordHash);
      const r = await declare(gap.document);
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json<{ logIndex: number; stored: boolean; head: { seq: number; hash: string } }>();
      expect(body.stored).toBe(true);
      expect(body.head.seq).toBe(5);
      expect(Buffer.from(body.head.hash, 'base64url').equals(Buffer.from(lastLost))).toBe(true);
      expect(await nextSeq()).toBe(6);

      // The log holds the declaration as its own entry type, committing to the signed document.
      const [bytes] = await tb.stores.log.entries(org.orgId, body.logIndex, body.logIndex + 1);
      expect(decodeLogEntry(bytes!)).toEqual({
        type: 'archive-gap',
        hash: Uint8Array.from(createHash('sha256').update(gap.document).digest()),
        size: gap.document.length,
        actor: writer.device.deviceId,
        time: t.clock.now,
        org: org.orgId,
        device: writer.device.deviceId,
        seq: 3,
        end: 5,
        reason: 'server-restored',
      });

      // The lost records cannot come back afterwards: their place is declared missing.
      expect((await upload(lost)).statusCode).toBe(409);
      // The next batch chains from the declared hash.
      const after = await upload(writer.batch(2));
      expect(after.statusCode, after.body).toBe(200);
      expect(after.json<{ head: { seq: number } }>().head.seq).toBe(7);
      expect(await tb.stores.archive.count(org.orgId)).toBe(5);

      // Idempotent: the same declaration, even signed again (XEdDSA is randomised), stores nothing.
      const snap = openSnapshotter(tb.config);
      try {
        const before = await snap.snapshot();
        const d: GapDeclaration = {
          org: writer.sealer.context.org,
          device: writer.sealer.context.device,
          firstSeq: 3,
          lastSeq: 5,
          prev: m.prev,
          resume: lastLost,
          reason: 'server-restored',
        };
        for (const doc of [gap.document, signGapDeclaration(writer.device.identity, d)]) {
          const again = await declare(doc);
          expect(again.statusCode, again.body).toBe(200);
          expect(again.json()).toEqual({ ...body, stored: false });
        }
        expect(await snap.snapshot()).toBe(before);
      } finally {
        await snap.close();
      }
    });

    it('refuses forged, replayed, misplaced and foreign declarations, changing nothing', async () => {
      const w = writer;
      const ctx = w.sealer.context;
      const next = await nextSeq();
      const head = (await tb.stores.archive.head(org.orgId, w.device.deviceId))!;
      const base: GapDeclaration = {
        org: ctx.org,
        device: ctx.device,
        firstSeq: next,
        lastSeq: next + 4,
        prev: Uint8Array.from(head.hash) as RecordHash,
        resume: Uint8Array.from(randomBytes(32)) as RecordHash,
        reason: 'server-restored',
      };
      const sign = (d: Partial<GapDeclaration>, key = w.device.identity) =>
        signGapDeclaration(key, { ...base, ...d });
      const other = org.members[1]!;
      const zeros = new Uint8Array(32) as RecordHash;
      const cases: [string, Uint8Array, number, string, RegExp?][] = [
        // A range the server holds: those records must be sent again, not declared away.
        [
          'a range the server holds',
          sign({ firstSeq: 0, prev: zeros }),
          409,
          'ARCHIVE_GAP_MISMATCH',
          /expected sequence number \d+/,
        ],
        [
          'a range overlapping the head',
          sign({ firstSeq: next - 1 }),
          409,
          'ARCHIVE_GAP_MISMATCH',
          /expected sequence number \d+/,
        ],
        [
          'a range after the head (a gap before it)',
          sign({ firstSeq: next + 1, lastSeq: next + 3 }),
          409,
          'ARCHIVE_GAP_MISMATCH',
          new RegExp(`expected sequence number ${next}`),
        ],
        [
          'a range linking to another record (fork)',
          sign({ prev: Uint8Array.from(randomBytes(32)) as RecordHash }),
          409,
          'ARCHIVE_GAP_MISMATCH',
          /\(fork\)/,
        ],
        [
          'another declaration at an accepted one',
          sign({ firstSeq: 3, lastSeq: 4, prev: zeros }),
          409,
          'ARCHIVE_GAP_MISMATCH',
          /already declared/,
        ],
        [
          'a declaration signed by another device',
          sign({}, other.identity),
          400,
          'ARCHIVE_GAP_INVALID',
          /signature/,
        ],
        [
          'a declaration naming another device',
          sign({ device: other.deviceId as string as GapDeclaration['device'] }, other.identity),
          400,
          'ARCHIVE_GAP_INVALID',
          /another device/,
        ],
        [
          'a declaration naming another organisation',
          sign({ org: 'other-org' as GapDeclaration['org'] }),
          400,
          'ARCHIVE_GAP_INVALID',
          /another organisation/,
        ],
        ['a truncated declaration', sign({}).subarray(0, 100), 400, 'ARCHIVE_GAP_INVALID'],
        // The server cannot see the records; it refuses the reason where it cannot be true.
        [
          'records sealed to a disposed bucket, in an org that disposed of none',
          sign({ reason: 'bucket-disposed' }),
          409,
          'ARCHIVE_GAP_MISMATCH',
          /no bucket of this organisation has been disposed of/,
        ],
      ];
      // Another organisation's device presenting this device's declaration is refused as foreign too.
      const second = newBootstrapToken();
      await t.stores.bootstrap.issue(sha256(second), t.clock.now, t.clock.now + 3_600_000);
      const foreignOrg = await createArchivingOrg({ ...t, bootstrapToken: second }, 1);
      const snap = openSnapshotter(tb.config);
      try {
        const before = await snap.snapshot();
        for (const [name, doc, status, code, message] of cases) {
          const r = await declare(doc);
          expect(r.statusCode, `${name}: ${r.body}`).toBe(status);
          const err = r.json<{ error: { code: string; message: string } }>().error;
          expect(err.code, name).toBe(code);
          if (message !== undefined) expect(err.message, name).toMatch(message);
        }
        for (const by of [other, foreignOrg.members[0]!]) {
          const r = await declare(sign({}), by);
          expect(r.statusCode, r.body).toBe(400);
          expect(r.json<{ error: { code: string } }>().error.code).toBe('ARCHIVE_GAP_INVALID');
        }
        expect(await snap.snapshot()).toBe(before);
      } finally {
        await snap.close();
      }
      // And the untouched chain still takes the valid declaration.
      expect((await declare(sign({}))).statusCode).toBe(200);
    });

    it('serves officers the signed declarations, each matching its log entry and device signature', async () => {
      const r = await call(
        t.app,
        'GET',
        `/v1/orgs/${org.orgId}/archive/gaps`,
        undefined,
        org.officer.headers(),
      );
      expect(r.statusCode, r.body).toBe(200);
      const { gaps, truncated } = r.json<{
        gaps: {
          deviceId: string;
          firstSeq: number;
          lastSeq: number;
          logIndex: number;
          declaration: string;
        }[];
        truncated: boolean;
      }>();
      expect(truncated).toBe(false);
      expect(gaps.map((g) => [g.deviceId, g.firstSeq, g.lastSeq])).toEqual([
        [writer.device.deviceId, 3, 5],
        [writer.device.deviceId, 8, 12],
      ]);
      for (const g of gaps) {
        const doc = Buffer.from(g.declaration, 'base64url');
        const [entry] = await tb.stores.log.entries(org.orgId, g.logIndex, g.logIndex + 1);
        const e = decodeLogEntry(entry!);
        expect(e.type === 'archive-gap' && e.seq === g.firstSeq && e.end === g.lastSeq).toBe(true);
        expect(Buffer.from(e.hash).equals(createHash('sha256').update(doc).digest())).toBe(true);
        expect(verifyGapDeclaration(writer.device.identity.getPublicKey().serialize(), doc).lastSeq).toBe(
          g.lastSeq,
        );
      }
      const member = await call(
        t.app,
        'GET',
        `/v1/orgs/${org.orgId}/archive/gaps`,
        undefined,
        writer.device.headers(),
      );
      expect(member.statusCode).toBe(403);
    });

    it('accepts a bucket-disposed declaration once the org has disposed of a bucket, and the chain continues', async () => {
      await tb.stores.disposition.markDisposed(org.orgId, 'expired-2029', 'ab'.repeat(32), t.clock.now);
      // The previous test's last declaration moved the head past where this writer stands.
      const head = (await tb.stores.archive.head(org.orgId, writer.device.deviceId))!;
      writer.seq = head.seq + 1;
      writer.prev = Uint8Array.from(head.hash) as RecordHash;
      const first = await nextSeq();
      expect(first).toBe(writer.seq);
      // Records first…first+2 were sealed to the disposed bucket: ingest refuses them for good.
      const m = writer.mark();
      const sealed = writer.batch(3);
      const lastSealed = createHash('sha256').update(sealed.records[2]!).digest() as Uint8Array as RecordHash;
      writer.reset(m);
      const gap = declareGap(writer, 3, 'bucket-disposed', Uint8Array.from(lastSealed) as RecordHash);
      const r = await declare(gap.document);
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json<{ logIndex: number; stored: boolean; head: { seq: number } }>();
      expect(body).toMatchObject({ stored: true, head: { seq: first + 2 } });
      const [bytes] = await tb.stores.log.entries(org.orgId, body.logIndex, body.logIndex + 1);
      expect(decodeLogEntry(bytes!)).toMatchObject({
        type: 'archive-gap',
        seq: first,
        end: first + 2,
        reason: 'bucket-disposed',
      });
      expect((await tb.stores.archive.gapAt(org.orgId, writer.device.deviceId, first))?.reason).toBe(
        'bucket-disposed',
      );
      const after = await upload(writer.batch(1));
      expect(after.statusCode, after.body).toBe(200);
      expect(after.json<{ head: { seq: number } }>().head.seq).toBe(first + 3);
    });
  });
}
