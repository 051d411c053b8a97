/**
 * Blob lifetime through the HTTP app, on every backend (docs/operations.md, "Blobs"): a blob
 * an archived record lists survives the sweep past its expiry, one no record lists goes, one
 * an older client's record may reference without listing it stays, and a record whose list of
 * blob ids ("att") is malformed or too long is refused at ingest, naming it, with nothing stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  MAX_HEADER_BLOB_IDS,
  encodeDeterministicCbor,
  frameRecord,
  signBatch,
  type RecordHash,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  BLOB_UNREFERENCED_RETENTION_MS,
  RELAY_EXPIRY_SWEEP_INTERVAL_MS,
} from '../config/messaging-defaults.js';
import { createLogger } from '../log/logger.js';
import { createMessagingServices } from '../relay/messaging-services.js';
import { sequencingAuditSink } from '../log-service/audit-sequencing.js';
import { call, createTestApp, type TestApp, type TestDevice } from '../testing/test-app.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import {
  ArchiveWriter,
  createArchivingOrg,
  uploadBody,
  type ArchivingOrg,
} from '../archive/archive-test-support.js';
import { DEFAULT_BLOB_SWEEP, sweepBlobs } from './blob-service.js';

/** The test app's clock. */
const t0 = 1_700_000_000_000;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** The default sweep with a one-minute clock-skew margin (device tokens outlive no day). */
const SWEEP = { ...DEFAULT_BLOB_SWEEP, unlistedMarginMs: MINUTE };
/** Past the expiry of anything uploaded at `at`. */
const expired = (at: number) => at + SWEEP.retentionMs + 1;

for (const backend of TEST_BACKENDS) {
  const title = `blob lifetime: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let t: TestApp;
    let org: ArchivingOrg;
    let writer: ArchiveWriter;

    beforeAll(async () => {
      tb = await backend.open();
      t = await createTestApp(tb.stores, { audit: sequencingAuditSink });
      t.clock.now = t0;
      org = await createArchivingOrg(t, 2);
      writer = await ArchiveWriter.create(org, org.members[0]!);
    });
    afterAll(async () => {
      await t?.app.close();
      await tb?.dispose();
    });

    /** Uploads fresh bytes as `by` at the app's clock; their blob id. */
    const uploadBlob = async (by: TestDevice = org.members[1]!): Promise<string> => {
      const payload = randomBytes(100);
      const blobId = createHash('sha256').update(payload).digest('hex');
      const r = await t.app.inject({
        method: 'PUT',
        url: `/v1/blobs/${blobId}`,
        headers: { ...by.headers(), 'content-type': 'application/octet-stream' },
        payload,
      });
      expect(r.statusCode, r.body).toBe(200);
      return blobId;
    };
    const download = async (blobId: string) =>
      (await call(t.app, 'GET', `/v1/blobs/${blobId}`, undefined, org.members[0]!.headers())).statusCode;
    const archive = async (attachments: { attachmentBytes: number; blobIds?: string[] }) => {
      const r = await call(
        t.app,
        'POST',
        '/v1/archive/batches',
        uploadBody(writer.batch(1, 200, attachments)),
        writer.device.headers(),
      );
      expect(r.statusCode, r.body).toBe(200);
    };

    it('sweeps from the expiry timer only when the blobSweep setting is on (off by default)', async () => {
      // First of the cases: no older client's record has moved the sweep's mark yet, so the
      // default 1-day margin after it does not keep this blob.
      t.clock.now = t0;
      const lone = await uploadBlob();
      const run = async (settings: { blobSweep?: boolean }) => {
        const services = createMessagingServices({
          stores: tb.stores,
          clock: () => t0 + BLOB_UNREFERENCED_RETENTION_MS + DAY,
          settings,
        });
        vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
        try {
          services.startSweeps(createLogger('error', () => undefined));
          vi.advanceTimersByTime(RELAY_EXPIRY_SWEEP_INTERVAL_MS);
        } finally {
          vi.useRealTimers();
        }
        await services.close();
      };
      await run({});
      await run({ blobSweep: false });
      expect(await download(lone)).toBe(200);
      await run({ blobSweep: true });
      expect(await download(lone)).toBe(404);
    });

    it('keeps a blob an archived record lists past its expiry, and sweeps one no record lists', async () => {
      t.clock.now = t0;
      const listed = await uploadBlob();
      const lone = await uploadBlob();
      await archive({ attachmentBytes: 100, blobIds: [listed] });
      expect(await sweepBlobs(tb.stores, expired(t0) - 2, SWEEP)).toBe(0);
      expect(await download(lone)).toBe(200);
      expect(await sweepBlobs(tb.stores, expired(t0), SWEEP)).toBe(1);
      expect(await download(listed)).toBe(200);
      expect(await download(lone)).toBe(404);
      // Gone for good: its quota is given back and a second sweep finds nothing.
      expect(await sweepBlobs(tb.stores, expired(t0) + MINUTE, SWEEP)).toBe(0);
      expect(await tb.stores.blobs.usage(org.orgId)).toEqual({ count: 1, bytes: 100 });
    });

    it("keeps every blob uploaded before an older client's record that has attachments but lists none", async () => {
      t.clock.now = t0 + MINUTE;
      const before = await uploadBlob();
      t.clock.now = t0 + 2 * MINUTE;
      await archive({ attachmentBytes: 100 });
      // After it (past the clock-skew margin), an unlisted blob is swept as usual.
      t.clock.now = t0 + 4 * MINUTE;
      const after = await uploadBlob();
      expect(await sweepBlobs(tb.stores, expired(t.clock.now), SWEEP)).toBe(1);
      expect(await download(before)).toBe(200);
      expect(await download(after)).toBe(404);
    });

    it('refuses a malformed or oversized blob id list at ingest, naming it, and stores nothing', async () => {
      const ctx = writer.sealer.context;
      const id = (): string => randomBytes(32).toString('hex');
      const [a, b] = [id(), id()].sort() as [string, string];
      /** A record at the writer's next position whose header lists `att`, signed by its device. */
      const withList = (att: unknown) => {
        const sealed = randomBytes(64);
        const header = encodeDeterministicCbor({
          v: 1,
          asz: 100,
          att,
          bkt: ctx.bucket,
          bsz: sealed.length,
          dev: ctx.device,
          org: ctx.org,
          seq: writer.seq,
          tok: [],
          prev: writer.prev,
          skey: writer.sealer.keyId,
        });
        const record = frameRecord(header, sealed);
        const hash = createHash('sha256').update(record).digest() as Uint8Array as RecordHash;
        const signature = signBatch(writer.device.identity, {
          org: ctx.org,
          device: ctx.device,
          firstSeq: writer.seq,
          hashes: [hash],
        });
        return { records: [record], signature, sessionKeys: [] };
      };
      const cases: [string, unknown, RegExp][] = [
        ['empty list', [], /"att" is present but empty/],
        ['not a list', a, /record header/],
        ['uppercase hex', [a.toUpperCase()], /blob id 0 is not 64 lowercase hex digits/],
        ['63 hex digits', [a.slice(1)], /blob id 0 is not 64 lowercase hex digits/],
        ['not hex', [`${a.slice(1)}g`], /blob id 0 is not 64 lowercase hex digits/],
        ['bytes, not text', [Buffer.from(a, 'hex')], /record header/],
        ['unsorted', [b, a], /blob ids are not ascending and unique at 1/],
        ['duplicate', [a, a], /blob ids are not ascending and unique at 1/],
        [
          'too many',
          Array.from({ length: MAX_HEADER_BLOB_IDS + 1 }, id).sort(),
          new RegExp(`more than ${MAX_HEADER_BLOB_IDS} blob ids`),
        ],
      ];
      const snapshot = async () => ({
        records: await tb.stores.archive.count(org.orgId),
        log: await tb.stores.log.backlog(org.orgId),
        head: await tb.stores.archive.head(org.orgId, writer.device.deviceId),
      });
      const before = await snapshot();
      for (const [name, att, why] of cases) {
        const r = await call(
          t.app,
          'POST',
          '/v1/archive/batches',
          uploadBody(withList(att)),
          writer.device.headers(),
        );
        expect(r.statusCode, name).toBe(400);
        const error = r.json<{ error: { code: string; message: string } }>().error;
        expect(error.code, name).toBe('ARCHIVE_RECORD_INVALID');
        expect(error.message, name).toMatch(/^records\[0\]: /);
        expect(error.message, name).toMatch(why);
        expect(await snapshot(), name).toEqual(before);
      }
      // The same position takes a well-formed list.
      await archive({ attachmentBytes: 100, blobIds: [b, a] });
      expect((await snapshot()).records).toBe(before.records + 1);
    });
  });
}
