/**
 * The completeness store on every backend: per-device summaries, gaps (including a chain
 * that does not start at 0), the policy upsert, and alert acts filtered by kind and time.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId, type DeviceId, type OrgId } from '../ids.js';
import { createTestOrgRow } from '../testing/test-org-row.js';
import { TEST_BACKENDS, type TestBackend } from '../testing/test-stores.js';
import type { SequencedArchiveRecord } from './archive-stores.js';

function records(deviceId: DeviceId, seqs: readonly number[]): SequencedArchiveRecord[] {
  return seqs.map((seq) => ({
    deviceId,
    seq,
    hash: randomBytes(32),
    bucketId: 'b-1',
    receivedAt: 1000 + seq,
    bytes: randomBytes(40),
  }));
}

for (const backend of TEST_BACKENDS) {
  const title = `completeness store: ${backend.name}${backend.skip === null ? '' : ` (skipped: ${backend.skip})`}`;
  describe.skipIf(backend.skip !== null)(title, () => {
    let tb: TestBackend;
    let orgId: OrgId;
    const [a, b, c] = [newId<DeviceId>(), newId<DeviceId>(), newId<DeviceId>()].sort();
    beforeAll(async () => {
      tb = await backend.open();
      orgId = await createTestOrgRow(tb.stores, 'Completeness Test');
      const rs = [...records(a!, [0, 1, 2, 3]), ...records(b!, [0, 1, 4, 5, 9]), ...records(c!, [2, 3])];
      await tb.stores.withTransaction((tx) =>
        tx.archive.insertSequenced(
          orgId,
          rs,
          rs.map(() => randomBytes(50)),
        ),
      );
      // Another org's records never show.
      const other = await createTestOrgRow(tb.stores, 'Other');
      const ro = records(a!, [0, 5]);
      await tb.stores.withTransaction((tx) =>
        tx.archive.insertSequenced(
          other,
          ro,
          ro.map(() => randomBytes(5)),
        ),
      );
    });
    afterAll(async () => {
      await tb?.dispose();
    });

    it('summarises each device and finds every gap', async () => {
      expect(await tb.stores.completeness.deviceSummaries(orgId)).toEqual([
        { deviceId: a, records: 4, maxSeq: 3, lastReceivedAt: 1003 },
        { deviceId: b, records: 5, maxSeq: 9, lastReceivedAt: 1009 },
        { deviceId: c, records: 2, maxSeq: 3, lastReceivedAt: 1003 },
      ]);
      expect(await tb.stores.completeness.gaps(orgId, 100)).toEqual([
        { deviceId: b, from: 2, to: 3 },
        { deviceId: b, from: 6, to: 8 },
        { deviceId: c, from: 0, to: 1 },
      ]);
      expect(await tb.stores.completeness.gaps(orgId, 1)).toHaveLength(1);
    });

    it('stores and replaces the policy', async () => {
      expect(await tb.stores.completeness.policy(orgId)).toBeUndefined();
      const p = { silentAfterMs: 3_600_000, receiptGraceMs: 0, setBy: a!, setAt: 5 };
      await tb.stores.completeness.setPolicy(orgId, p);
      expect(await tb.stores.completeness.policy(orgId)).toEqual(p);
      await tb.stores.completeness.setPolicy(orgId, { ...p, receiptGraceMs: 60_000, setAt: 6 });
      expect(await tb.stores.completeness.policy(orgId)).toEqual({ ...p, receiptGraceMs: 60_000, setAt: 6 });
    });

    it('lists alert acts only, from a time on', async () => {
      const e = { actorDeviceId: a!, subject: a!, detail: 'route=search', at: 100 };
      await tb.stores.auditPending.append(orgId, { ...e, kind: 'alert.rate-limit' });
      await tb.stores.auditPending.append(orgId, { ...e, kind: 'archive.search', detail: null });
      await tb.stores.auditPending.append(orgId, { ...e, kind: 'alert.rate-limit', at: 200, detail: null });
      const all = await tb.stores.completeness.alerts(orgId, 0, 10);
      expect(all.map((x) => [x.kind, x.at, x.detail])).toEqual([
        ['alert.rate-limit', 100, 'route=search'],
        ['alert.rate-limit', 200, null],
      ]);
      expect((await tb.stores.completeness.alerts(orgId, 150, 10)).map((x) => x.at)).toEqual([200]);
    });

    it("stores one acknowledgement per finding and state, lists them by id and state in pages, never another org's", async () => {
      const row = (findingId: string, n: number, state = '') => ({
        findingId,
        state,
        statement: Buffer.from([n, 1, 2]),
        signature: Buffer.alloc(64, n),
        deviceId: a!,
        acknowledgedAt: 1000 + n,
      });
      const store = tb.stores.completeness;
      expect(await store.acknowledgements(orgId, null, 10)).toEqual([]);
      expect(await store.acknowledge(orgId, row('gap/o/d/5-7', 1))).toBe(true);
      expect(await store.acknowledge(orgId, row('gap/o/d/1-1', 2))).toBe(true);
      // The same finding again changes nothing, whatever the new row says.
      expect(await store.acknowledge(orgId, row('gap/o/d/5-7', 3))).toBe(false);
      // A revoked device's finding, accepted at one state and then at a larger one; the same state again changes nothing.
      const revoked = 'revoked/o/d/12';
      expect(await store.acknowledge(orgId, row(revoked, 5, 'unarchived=2,handed-in=none,gaps=none'))).toBe(
        true,
      );
      expect(await store.acknowledge(orgId, row(revoked, 6, 'unarchived=4,handed-in=none,gaps=none'))).toBe(
        true,
      );
      expect(await store.acknowledge(orgId, row(revoked, 7, 'unarchived=4,handed-in=none,gaps=none'))).toBe(
        false,
      );
      const other = await createTestOrgRow(tb.stores, 'Other acks');
      expect(await store.acknowledge(other, row('gap/o/d/9-9', 4))).toBe(true);
      const all = [
        row('gap/o/d/1-1', 2),
        row('gap/o/d/5-7', 1),
        row(revoked, 5, 'unarchived=2,handed-in=none,gaps=none'),
        row(revoked, 6, 'unarchived=4,handed-in=none,gaps=none'),
      ];
      expect(await store.acknowledgements(orgId, null, 10)).toEqual(all);
      expect(await store.acknowledgement(orgId, 'gap/o/d/5-7', '')).toEqual(row('gap/o/d/5-7', 1));
      expect(await store.acknowledgement(orgId, revoked, 'unarchived=4,handed-in=none,gaps=none')).toEqual(
        all[3],
      );
      expect(await store.acknowledgement(orgId, revoked, '')).toBeUndefined();
      expect(await store.acknowledgement(orgId, 'gap/o/d/9-9', '')).toBeUndefined();
      expect(await store.acknowledgements(orgId, null, 1)).toEqual([row('gap/o/d/1-1', 2)]);
      expect(await store.acknowledgements(orgId, { findingId: 'gap/o/d/1-1', state: '' }, 10)).toEqual(
        all.slice(1),
      );
      // A page may end between two states of one finding: the next goes on from its state.
      expect(await store.acknowledgements(orgId, { findingId: revoked, state: all[2]!.state }, 10)).toEqual([
        all[3],
      ]);
      expect(await store.acknowledgements(orgId, { findingId: revoked, state: '' }, 10)).toEqual(
        all.slice(2),
      );
    });
  });
}
