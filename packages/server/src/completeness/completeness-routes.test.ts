/**
 * The completeness, policy and alerts routes over an in-process app: the report lists
 * every device with its counts and the gaps in its sequence, the policy starts at the
 * documented defaults and a change is audited with the detail the console rebuilds, bad
 * policies are refused, and a burst of searches leaves exactly one alert document.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArchivingOrg, type ArchivingOrg } from '../archive/archive-test-support.js';
import { storeRecords, SyntheticDevice } from '../search/search-test-support.js';
import { call, createTestApp, type TestApp } from '../testing/test-app.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';
import { DEFAULT_RECEIPT_GRACE_MS, DEFAULT_SILENT_AFTER_MS } from './completeness-defaults.js';

interface Report {
  devices: { deviceId: string; records: number; maxSeq: number | null; lastRecordAt: number | null }[];
  gaps: {
    deviceId: string;
    from: number;
    to: number;
    declaredLost: { firstSeq: number; lastSeq: number; reason: string; logIndex: number }[];
  }[];
  gapsTruncated: boolean;
  policy: { silentAfterMs: number; receiptGraceMs: number; setBy: string | null; setAt: number | null };
}

describe('completeness and alerts routes', () => {
  let tb: TestBackend;
  let t: TestApp;
  let org: ArchivingOrg;

  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    org = await createArchivingOrg(t, 1);
    const dev = new SyntheticDevice(org.orgId, org.bucketId, org.members[0]!.deviceId);
    // Sequence numbers 0, 1, 3, 4: number 2 is never stored.
    const recs = [dev.next([]), dev.next([])];
    dev.next([]);
    recs.push(dev.next([]), dev.next([]));
    await storeRecords(
      t.stores,
      org.orgId,
      recs.map((r) => ({ device: dev, ...r })),
    );
  });
  afterAll(async () => {
    await tb?.dispose();
  });

  const report = () =>
    call(t.app, 'GET', `/v1/orgs/${org.orgId}/archive/completeness`, undefined, org.officer.headers());
  const auditKinds = async () =>
    (await t.stores.auditPending.list(org.orgId, 0, 1000)).map((e) => [e.kind, e.detail]);

  it('reports every device, the records it holds and its gaps; the report is audited with counts', async () => {
    const r = await report();
    expect(r.statusCode, r.body).toBe(200);
    const a = r.json<Report>();
    const member = a.devices.find((d) => d.deviceId === org.members[0]!.deviceId);
    expect(member).toMatchObject({ records: 4, maxSeq: 4 });
    expect(a.devices.find((d) => d.deviceId === org.admin.deviceId)).toMatchObject({
      records: 0,
      maxSeq: null,
      lastRecordAt: null,
    });
    expect(a.gaps).toEqual([{ deviceId: org.members[0]!.deviceId, from: 2, to: 2, declaredLost: [] }]);
    expect(a.gapsTruncated).toBe(false);
    expect(a.policy).toEqual({
      silentAfterMs: DEFAULT_SILENT_AFTER_MS,
      receiptGraceMs: DEFAULT_RECEIPT_GRACE_MS,
      setBy: null,
      setAt: null,
    });
    expect(await auditKinds()).toContainEqual(['completeness.report', `devices=${a.devices.length} gaps=1`]);
  });

  it("marks a gap the device declared lost with its declaration (reason and log index), another device's not", async () => {
    const deviceId = org.members[0]!.deviceId;
    const row = {
      firstSeq: 2,
      lastSeq: 2,
      prevHash: randomBytes(32),
      resumeHash: randomBytes(32),
      reason: 'server-restored',
      declaration: randomBytes(64),
      logIndex: 77,
      receivedAt: 1,
    };
    await t.stores.withTransaction(async (tx) => {
      await tx.archive.insertGap(org.orgId, { ...row, deviceId });
      // Another device's declaration of the same numbers says nothing about this device's gap.
      await tx.archive.insertGap(org.orgId, {
        ...row,
        deviceId: org.admin.deviceId,
        logIndex: 78,
      });
    });
    const a = (await report()).json<Report>();
    expect(a.gaps).toEqual([
      {
        deviceId,
        from: 2,
        to: 2,
        declaredLost: [{ firstSeq: 2, lastSeq: 2, reason: 'server-restored', logIndex: 77 }],
      },
    ]);
  });

  it('sets the policy (officers), audited with the detail the console checks; refuses bad values', async () => {
    const put = (body: unknown, who = org.officer) =>
      call(t.app, 'PUT', `/v1/orgs/${org.orgId}/archive/completeness/policy`, body, who.headers());
    expect((await put({ silentAfterMs: 60_000, receiptGraceMs: 0 })).statusCode).toBe(400);
    expect((await put({ silentAfterMs: 3_600_000, receiptGraceMs: -1 })).statusCode).toBe(400);
    expect((await put({ silentAfterMs: 3_600_000, receiptGraceMs: 0, extra: 1 })).statusCode).toBe(400);
    expect((await put({ silentAfterMs: 3_600_000, receiptGraceMs: 0 }, org.admin)).statusCode).toBe(403);
    const ok = await put({ silentAfterMs: 3 * 86_400_000, receiptGraceMs: 600_000 });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ setBy: org.officer.deviceId, silentAfterMs: 3 * 86_400_000 });
    expect((await report()).json<Report>().policy).toEqual(ok.json());
    expect(await auditKinds()).toContainEqual([
      'completeness.policy',
      'silent-after-ms=259200000 receipt-grace-ms=600000',
    ]);
  });

  it('a burst of searches beyond the limit leaves one alert document, whatever its length', async () => {
    const search = () =>
      call(
        t.app,
        'POST',
        `/v1/orgs/${org.orgId}/archive/search`,
        { buckets: [{ bucket: org.bucketId, tokens: [randomBytes(16).toString('base64url')] }] },
        org.officer.headers(),
      );
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) statuses.push((await search()).statusCode);
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(20);
    const r = await call(t.app, 'GET', `/v1/orgs/${org.orgId}/alerts`, undefined, org.officer.headers());
    expect(r.statusCode).toBe(200);
    const alerts = r.json<{ alerts: { kind: string; actorDeviceId: string; detail: string }[] }>().alerts;
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ kind: 'alert.rate-limit', actorDeviceId: org.officer.deviceId });
    expect(alerts[0]!.detail).toMatch(/^route=search burst=\d+ per-second=/);
    // `since` after the alert: none.
    const later = await call(
      t.app,
      'GET',
      `/v1/orgs/${org.orgId}/alerts?since=${t.clock.now + 1}`,
      undefined,
      org.officer.headers(),
    );
    expect(later.json<{ alerts: unknown[] }>().alerts).toEqual([]);
  });
});
