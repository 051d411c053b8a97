/**
 * The search routes over an in-process app: hits with exact bytes and proofs that verify
 * against the signed checkpoint, paging, audit entries that carry counts and never tokens,
 * roles, bad input, other organisations' ids, the rate limit, and records by device.
 */
import { randomBytes } from 'node:crypto';
import {
  logEntryLeafHash,
  openCheckpoint,
  verifyInclusion,
  type BucketId,
  type DeviceId as CoreDeviceId,
  type OrgId as CoreOrgId,
} from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArchivingOrg, type ArchivingOrg } from '../archive/archive-test-support.js';
import { logOriginFor, logVerifierKey } from '../log-service/checkpoint-signing.js';
import { silentLogger } from '../log/logger.js';
import { call, createTestApp, enrolNewUser, type TestApp } from '../testing/test-app.js';
import { newBootstrapToken, sha256 } from '../crypto/secrets.js';
import { openTestSqlite, type TestBackend } from '../testing/test-stores.js';
import { SearchIndexer } from './search-indexer.js';
import { FIXTURE_LOG_KEY, storeRecords, SyntheticDevice, testIntegrator } from './search-test-support.js';
import { SEARCH_RATE_BURST } from './search-defaults.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const WORD = randomBytes(16);
const OTHER = randomBytes(16);

interface Hit {
  record: string;
  hash: string;
  logIndex: number;
  deviceId: string;
  seq: number;
  bucketId: string;
  receivedAt: number;
  proof: string[];
  batch: null | object;
}
interface Answer {
  records: Hit[];
  checkpoint: { treeSize: number; note: string };
  next: string | null;
}

describe('search routes', () => {
  let tb: TestBackend;
  let t: TestApp;
  let org: ArchivingOrg;
  let foreign: ArchivingOrg;
  let dev: SyntheticDevice;
  let logIndexes: number[];
  let auditor: ArchivingOrg['officer'];

  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    org = await createArchivingOrg(t, 1);
    // A second organisation needs a second (operator-issued) bootstrap token.
    const second = newBootstrapToken();
    await t.stores.bootstrap.issue(sha256(second), t.clock.now, t.clock.now + 3_600_000);
    foreign = await createArchivingOrg({ ...t, bootstrapToken: second }, 1);
    dev = new SyntheticDevice(org.orgId, org.bucketId, org.members[0]!.deviceId);
    // 25 records; every one has WORD, every third OTHER too.
    logIndexes = await storeRecords(
      t.stores,
      org.orgId,
      Array.from({ length: 25 }, (_, i) => ({
        device: dev,
        ...dev.next(i % 3 === 0 ? [WORD, OTHER] : [WORD]),
      })),
    );
    const fdev = new SyntheticDevice(foreign.orgId, foreign.bucketId, foreign.members[0]!.deviceId);
    await storeRecords(t.stores, foreign.orgId, [{ device: fdev, ...fdev.next([WORD]) }]);
    await testIntegrator(t.stores, FIXTURE_LOG_KEY).integrateAll();
    await new SearchIndexer({ stores: t.stores, logger: silentLogger }).indexAll();
    // An auditor device of this org.
    auditor = await enrolNewUser(t.app, org.admin, 'auditor');
  });
  afterAll(async () => {
    await tb?.dispose();
  });

  const search = (body: Record<string, unknown>, who = org.officer, orgId: string = org.orgId) =>
    call(t.app, 'POST', `/v1/orgs/${orgId}/archive/search`, body, who.headers());

  it('finds exactly the matching records, newest first, with bytes and proofs that verify', async () => {
    const r = await search({ tokens: [b64(WORD), b64(OTHER)], limit: 4 });
    expect(r.statusCode, r.body).toBe(200);
    const a = r.json<Answer>();
    const want = logIndexes.filter((_, i) => i % 3 === 0).reverse();
    expect(a.records.map((h) => h.logIndex)).toEqual(want.slice(0, 4));
    expect(a.next).toBe(String(want[3]));
    const origin = logOriginFor('custos.test', org.orgId);
    const cp = openCheckpoint(
      a.checkpoint.note,
      [logVerifierKey(origin, FIXTURE_LOG_KEY)],
      origin,
    ).checkpoint;
    for (const h of a.records) {
      const stored = await t.stores.archive.recordBytes(org.orgId, dev.deviceId, h.seq);
      expect(h.record).toBe(b64(stored!));
      const leaf = logEntryLeafHash({
        type: 'archive-record',
        hash: Buffer.from(h.hash, 'base64url'),
        size: Buffer.from(h.record, 'base64url').length,
        actor: h.deviceId,
        time: h.receivedAt,
        org: org.orgId as string as CoreOrgId,
        device: h.deviceId as CoreDeviceId,
        seq: h.seq,
        bucket: h.bucketId as BucketId,
      });
      verifyInclusion(
        leaf,
        h.logIndex,
        cp.treeSize,
        h.proof.map((p) => Buffer.from(p, 'base64url')),
        cp.rootHash,
      );
    }
    const rest = await search({ tokens: [b64(WORD), b64(OTHER)], limit: 100, cursor: a.next });
    expect(rest.json<Answer>().records.map((h) => h.logIndex)).toEqual(want.slice(4));
    expect(rest.json<Answer>().next).toBeNull();
  });

  it('records an audit entry with counts only, never a token', async () => {
    const before = await t.stores.auditPending.list(org.orgId, 0, 10_000);
    await search({ tokens: [b64(OTHER)], limit: 2 });
    const after = await t.stores.auditPending.list(org.orgId, 0, 10_000);
    const added = after.slice(before.length);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      kind: 'archive.search',
      actorDeviceId: org.officer.deviceId,
      detail: 'tokens=1 results=2',
    });
    const text = JSON.stringify(added);
    for (const enc of ['hex', 'base64', 'base64url'] as const)
      expect(text).not.toContain(OTHER.toString(enc));
  });

  it('auditors may search; members and admins may not', async () => {
    expect((await search({ tokens: [b64(WORD)], limit: 1 }, auditor)).statusCode).toBe(200);
    for (const who of [org.members[0]!, org.admin]) {
      const r = await search({ tokens: [b64(WORD)] }, who);
      expect(r.statusCode).toBe(403);
      expect(r.json<{ error: { code: string } }>().error.code).toBe('ROLE_FORBIDDEN');
    }
  });

  it('refuses malformed, short, padded and too many tokens, bad limits and cursors', async () => {
    for (const body of [
      { tokens: [] },
      { tokens: [b64(randomBytes(15))] },
      { tokens: [b64(randomBytes(17))] },
      { tokens: [`${b64(WORD)}==`] },
      { tokens: [b64(WORD).slice(0, -1) + '!'] },
      { tokens: Array.from({ length: 33 }, () => b64(randomBytes(16))) },
      { tokens: [b64(WORD)], limit: 101 },
      { tokens: [b64(WORD)], limit: 0 },
      { tokens: [b64(WORD)], cursor: '-1' },
      { tokens: [b64(WORD)], cursor: '01' },
      { tokens: [b64(WORD)], cursor: '9007199254740992' },
      { tokens: [b64(WORD)], filters: { dates: [] } },
      { tokens: [b64(WORD)], filters: { colour: 'red' } },
    ]) {
      const r = await search(body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
    }
  });

  it("another organisation's records, devices and buckets stay invisible", async () => {
    // Its path: refused before anything is read.
    const r = await search({ tokens: [b64(WORD)] }, org.officer, foreign.orgId);
    expect(r.statusCode).toBe(403);
    expect(r.json<{ error: { code: string } }>().error.code).toBe('WRONG_ORG');
    // Its device or bucket as a filter: unknown here.
    const d = await search({ tokens: [b64(WORD)], filters: { device: foreign.members[0]!.deviceId } });
    expect(d.statusCode).toBe(404);
    expect(d.json<{ error: { code: string } }>().error.code).toBe('DEVICE_NOT_FOUND');
    const otherBucket = 'only-in-foreign';
    const b = await search({ tokens: [b64(WORD)], filters: { bucket: otherBucket } });
    expect(b.statusCode).toBe(404);
    // The same token in both orgs: only this org's records come back.
    const all = await search({ tokens: [b64(WORD)], limit: 100 });
    expect(all.json<Answer>().records).toHaveLength(25);
    expect(new Set(all.json<Answer>().records.map((h) => h.deviceId))).toEqual(new Set([dev.deviceId]));
  });

  it('GET …/archive/records pages a device by sequence number (officers only)', async () => {
    const url = (q: string) => `/v1/orgs/${org.orgId}/archive/records?${q}`;
    const first = await call(
      t.app,
      'GET',
      url(`device=${dev.deviceId}&limit=10`),
      undefined,
      org.officer.headers(),
    );
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json<Answer>().records.map((h) => h.seq)).toEqual([...Array(10).keys()]);
    expect(first.json<Answer>().next).toBe('10');
    const last = await call(
      t.app,
      'GET',
      url(`device=${dev.deviceId}&fromSeq=20`),
      undefined,
      org.officer.headers(),
    );
    expect(last.json<Answer>().records.map((h) => h.seq)).toEqual([20, 21, 22, 23, 24]);
    expect(last.json<Answer>().next).toBeNull();
    const foreignDev = await call(
      t.app,
      'GET',
      url(`device=${foreign.members[0]!.deviceId}`),
      undefined,
      org.officer.headers(),
    );
    expect(foreignDev.statusCode).toBe(404);
    const asAuditor = await call(t.app, 'GET', url(`device=${dev.deviceId}`), undefined, auditor.headers());
    expect(asAuditor.statusCode).toBe(403);
    expect(
      (await call(t.app, 'GET', url(`device=${dev.deviceId}&limit=501`), undefined, org.officer.headers()))
        .statusCode,
    ).toBe(400);
  });

  it('gives every record the batch that covers it, with the hashes of that whole batch', async () => {
    // Two stored batches (seq 0–9 and 10–19); 20–24 have none. A page spans both and the gap.
    const sigs = [randomBytes(64), randomBytes(64)];
    await t.stores.search.putBatches(org.orgId, [
      { deviceId: dev.deviceId, firstSeq: 0, count: 10, signature: sigs[0]! },
      { deviceId: dev.deviceId, firstSeq: 10, count: 10, signature: sigs[1]! },
    ]);
    const stored = await t.stores.archive.range(org.orgId, dev.deviceId, 0, 24);
    const r = await call(
      t.app,
      'GET',
      `/v1/orgs/${org.orgId}/archive/records?device=${dev.deviceId}&fromSeq=5`,
      undefined,
      org.officer.headers(),
    );
    expect(r.statusCode, r.body).toBe(200);
    const hits = r.json<Answer>().records;
    expect(hits.map((h) => h.seq)).toEqual([...Array(20).keys()].map((i) => i + 5));
    for (const h of hits) {
      if (h.seq >= 20) {
        expect(h.batch, `seq ${h.seq}`).toBeNull();
        continue;
      }
      const first = h.seq < 10 ? 0 : 10;
      expect(h.batch, `seq ${h.seq}`).toEqual({
        firstSeq: first,
        signature: b64(sigs[first / 10]!),
        hashes: stored.slice(first, first + 10).map((x) => b64(x.hash)),
      });
    }
  });

  it('rate-limits searches per device', async () => {
    let limited = 0;
    for (let i = 0; i < SEARCH_RATE_BURST + 2; i++) {
      const r = await search({ tokens: [b64(randomBytes(16))] });
      if (r.statusCode === 429) {
        limited++;
        expect(r.headers['retry-after']).toBeDefined();
      }
    }
    expect(limited).toBeGreaterThan(0);
    // The limit is per device: another officer-capable device is unaffected.
    expect((await search({ tokens: [b64(WORD)], limit: 1 }, auditor)).statusCode).toBe(200);
  });
});
