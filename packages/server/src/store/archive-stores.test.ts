/**
 * Records sequenced with their log entries (`insertSequenced`) on every backend: record i
 * is stored with the index of entry i, the entry is stored at that index, indexes continue
 * gap-free across other sequencers, and a failed transaction leaves neither behind.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, type DeviceId, type OrgId } from '../ids.js';
import { sequenceEntries } from '../log-service/sequencing.js';
import { createTestOrgRow } from '../testing/test-org-row.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import type { SequencedArchiveRecord } from './archive-stores.js';

const newOrg = (tb: TestBackend): Promise<OrgId> => createTestOrgRow(tb.stores, 'Archive Test');

function records(deviceId: DeviceId, fromSeq: number, n: number): SequencedArchiveRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    deviceId,
    seq: fromSeq + i,
    hash: randomBytes(32),
    bucketId: 'b-1',
    receivedAt: 1000 + i,
    bytes: randomBytes(100 + i),
  }));
}

for (const backend of TEST_BACKENDS) {
  const title = `archive store: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    beforeAll(async () => {
      tb = await backend.open();
    });
    afterAll(async () => {
      await tb?.dispose();
    });

    it('stores each record at the index of its entry, gap-free across other sequencers', async () => {
      const orgId = await newOrg(tb);
      const [a, b] = [newId<DeviceId>(), newId<DeviceId>()];
      const ra = [...records(a, 0, 3), ...records(b, 0, 2)];
      const ea = ra.map(() => randomBytes(60));
      expect(await tb.stores.withTransaction((tx) => tx.archive.insertSequenced(orgId, ra, ea))).toBe(0);
      // Another act sequences in between (an audit entry).
      expect(await tb.stores.withTransaction((tx) => sequenceEntries(tx, orgId, [randomBytes(9)]))).toBe(5);
      const rb = records(a, 3, 4);
      const eb = rb.map(() => randomBytes(70));
      expect(await tb.stores.withTransaction((tx) => tx.archive.insertSequenced(orgId, rb, eb))).toBe(6);
      expect((await tb.stores.log.backlog(orgId)).nextIndex).toBe(10);

      const stored = [
        ...(await tb.stores.archive.range(orgId, a, 0, 6)),
        ...(await tb.stores.archive.range(orgId, b, 0, 1)),
      ];
      expect(stored.map((r) => r.logIndex)).toEqual([0, 1, 2, 6, 7, 8, 9, 3, 4]);
      expect(stored.map((r) => r.hash)).toEqual(
        [...ra.slice(0, 3), ...rb, ...ra.slice(3)].map((r) => Buffer.from(r.hash)),
      );
      expect(stored.map((r) => r.receivedAt)).toEqual([1000, 1001, 1002, 1000, 1001, 1002, 1003, 1000, 1001]);
      expect(await tb.stores.archive.recordBytes(orgId, a, 4)).toEqual(Buffer.from(rb[1]!.bytes));
      const entries = await tb.stores.log.entries(orgId, 0, 10);
      expect(entries.slice(0, 5)).toEqual(ea.map((e) => Buffer.from(e)));
      expect(entries.slice(6)).toEqual(eb.map((e) => Buffer.from(e)));
    });

    it('writes nothing when the transaction fails, and refuses mismatched lengths', async () => {
      const orgId = await newOrg(tb);
      const d = newId<DeviceId>();
      await expect(
        tb.stores.withTransaction(async (tx) => {
          await tx.archive.insertSequenced(orgId, records(d, 0, 2), [randomBytes(5), randomBytes(5)]);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(await tb.stores.archive.count(orgId)).toBe(0);
      expect((await tb.stores.log.backlog(orgId)).nextIndex).toBe(0);
      await expect(
        tb.stores.withTransaction((tx) =>
          tx.archive.insertSequenced(orgId, records(d, 0, 2), [randomBytes(5)]),
        ),
      ).rejects.toThrow(/one log entry per record/);
    });
  });
}
