/**
 * The search routes over an in-process app: hits with exact bytes and proofs that verify
 * against the signed checkpoint, paging, audit entries that carry counts and never tokens,
 * roles, bad input, other organisations' ids, the rate limit, and records by device; a
 * search over several buckets in one request (order, paging by bucket and position, one
 * audit entry and one rate-limit token per request, limits refused before anything changes, an
 * unknown bucket or device refused for one token and nothing written).
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
import {
  createArchivingOrg,
  registerTestBucket,
  type ArchivingOrg,
} from '../archive/archive-test-support.js';
import { logOriginFor, logVerifierKey } from '../log-service/checkpoint-signing.js';
import { silentLogger } from '../log/logger.js';
import { call, createTestApp, enrolNewUser, type TestApp } from '../testing/test-app.js';
import { newBootstrapToken, sha256 } from '../crypto/secrets.js';
import { openSnapshotter, openTestSqlite, type TestBackend } from '../testing/test-stores.js';
import { SearchIndexer } from './search-indexer.js';
import { FIXTURE_LOG_KEY, storeRecords, SyntheticDevice, testIntegrator } from './search-test-support.js';
import {
  MAX_SEARCH_BUCKETS,
  MAX_SEARCH_PAGE,
  MAX_SEARCH_REQUEST_TOKENS,
  SEARCH_BODY_LIMIT_BYTES,
  SEARCH_RATE_BURST,
} from './search-defaults.js';

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
  /** A search of the org's bucket alone for `tokens`, with `extra` (limit, cursor, device). */
  const inBucket = (tokens: readonly string[], extra: Record<string, unknown> = {}) => ({
    buckets: [{ bucket: org.bucketId, tokens }],
    ...extra,
  });

  it('finds exactly the matching records, newest first, with bytes and proofs that verify', async () => {
    const r = await search(inBucket([b64(WORD), b64(OTHER)], { limit: 4 }));
    expect(r.statusCode, r.body).toBe(200);
    const a = r.json<Answer>();
    const want = logIndexes.filter((_, i) => i % 3 === 0).reverse();
    expect(a.records.map((h) => h.logIndex)).toEqual(want.slice(0, 4));
    expect(a.next).toEqual({ bucket: org.bucketId, before: String(want[3]) });
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
    const rest = await search(inBucket([b64(WORD), b64(OTHER)], { limit: 100, cursor: a.next }));
    expect(rest.json<Answer>().records.map((h) => h.logIndex)).toEqual(want.slice(4));
    expect(rest.json<Answer>().next).toBeNull();
  });

  it('records an audit entry with counts only, never a token', async () => {
    const before = await t.stores.auditPending.list(org.orgId, 0, 10_000);
    await search(inBucket([b64(OTHER)], { limit: 2 }));
    const after = await t.stores.auditPending.list(org.orgId, 0, 10_000);
    const added = after.slice(before.length);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({
      kind: 'archive.search',
      actorDeviceId: org.officer.deviceId,
      detail: `buckets=${org.bucketId} tokens=1 results=2`,
    });
    const text = JSON.stringify(added);
    for (const enc of ['hex', 'base64', 'base64url'] as const)
      expect(text).not.toContain(OTHER.toString(enc));
  });

  it('auditors may search; members and admins may not', async () => {
    expect((await search(inBucket([b64(WORD)], { limit: 1 }), auditor)).statusCode).toBe(200);
    for (const who of [org.members[0]!, org.admin]) {
      const r = await search(inBucket([b64(WORD)]), who);
      expect(r.statusCode).toBe(403);
      expect(r.json<{ error: { code: string } }>().error.code).toBe('ROLE_FORBIDDEN');
    }
  });

  it('refuses malformed, short, padded and too many tokens, bad limits and cursors', async () => {
    const w = b64(WORD);
    for (const body of [
      inBucket([]),
      inBucket([b64(randomBytes(15))]),
      inBucket([b64(randomBytes(17))]),
      inBucket([`${w}==`]),
      inBucket([w.slice(0, -1) + '!']),
      inBucket(Array.from({ length: 33 }, () => b64(randomBytes(16)))),
      inBucket([w], { limit: 101 }),
      inBucket([w], { limit: 0 }),
      inBucket([w], { cursor: { bucket: org.bucketId, before: '-1' } }),
      inBucket([w], { cursor: { bucket: org.bucketId, before: '01' } }),
      inBucket([w], { cursor: '12' }),
      { buckets: [{ bucket: org.bucketId, tokens: [w], dates: [] }] },
      { buckets: [{ bucket: org.bucketId, tokens: [w], colour: 'red' }] },
      { tokens: [w] },
      { buckets: [] },
    ]) {
      const r = await search(body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
    }
  });

  it("another organisation's records, devices and buckets stay invisible", async () => {
    // Its path: refused before anything is read.
    const r = await search(inBucket([b64(WORD)]), org.officer, foreign.orgId);
    expect(r.statusCode).toBe(403);
    expect(r.json<{ error: { code: string } }>().error.code).toBe('WRONG_ORG');
    // Its device or bucket as a filter: unknown here.
    const d = await search(inBucket([b64(WORD)], { device: foreign.members[0]!.deviceId }));
    expect(d.statusCode).toBe(404);
    expect(d.json<{ error: { code: string } }>().error.code).toBe('DEVICE_NOT_FOUND');
    const otherBucket = 'only-in-foreign';
    const b = await search({ buckets: [{ bucket: otherBucket, tokens: [b64(WORD)] }] });
    expect(b.statusCode).toBe(404);
    // The same token in both orgs: only this org's records come back.
    const all = await search(inBucket([b64(WORD)], { limit: 100 }));
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
      const r = await search(inBucket([b64(randomBytes(16))]));
      if (r.statusCode === 429) {
        limited++;
        expect(r.headers['retry-after']).toBeDefined();
      }
    }
    expect(limited).toBeGreaterThan(0);
    // The limit is per device: another officer-capable device is unaffected.
    expect((await search(inBucket([b64(WORD)], { limit: 1 }), auditor)).statusCode).toBe(200);
  });
});

describe('search over several buckets in one request', () => {
  let tb: TestBackend;
  let t: TestApp;
  let org: ArchivingOrg;
  let foreignBucket: string;
  /** The buckets as the console sends them, newest first: each has its own member device and its own records. */
  let buckets: string[];
  /** Per bucket, its records' log indexes, newest first. */
  let inBucket: Map<string, number[]>;
  /** Every record carries it: searched with it in every bucket, each bucket answers its own records only. */
  const SHARED = randomBytes(16);
  /** Records per bucket (bucket 2 has none: an empty bucket costs nothing but its place in the order). */
  const COUNTS = [3, 2, 0, 4, 1, 3, 2];

  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores);
    org = await createArchivingOrg(t, COUNTS.length);
    buckets = COUNTS.map((_, i) => (i === COUNTS.length - 1 ? org.bucketId : `std-2026-0${7 - i}`));
    for (const b of buckets) if (b !== org.bucketId) await registerTestBucket(t.app, org, b);
    const second = newBootstrapToken();
    await t.stores.bootstrap.issue(sha256(second), t.clock.now, t.clock.now + 3_600_000);
    const foreign = await createArchivingOrg({ ...t, bootstrapToken: second }, 1);
    foreignBucket = 'only-in-foreign';
    await registerTestBucket(t.app, foreign, foreignBucket);
    inBucket = new Map();
    // Oldest bucket first, so log indexes grow with the bucket's period, as they do in use.
    for (let i = COUNTS.length - 1; i >= 0; i--) {
      const dev = new SyntheticDevice(org.orgId, buckets[i]!, org.members[i]!.deviceId);
      const records = Array.from({ length: COUNTS[i]! }, () => ({ device: dev, ...dev.next([SHARED]) }));
      inBucket.set(buckets[i]!, (await storeRecords(t.stores, org.orgId, records)).reverse());
    }
    await testIntegrator(t.stores, FIXTURE_LOG_KEY).integrateAll();
    await new SearchIndexer({ stores: t.stores, logger: silentLogger }).indexAll();
  });
  afterAll(async () => {
    await tb?.dispose();
  });

  interface Cursor {
    bucket: string;
    before?: string;
  }
  interface Page {
    records: Hit[];
    checkpoint: { treeSize: number; note: string };
    next: Cursor | null;
  }
  const every = (names: readonly string[] = buckets) =>
    names.map((bucket) => ({ bucket, tokens: [b64(SHARED)] }));
  const search = (body: unknown, who = org.officer) =>
    call(t.app, 'POST', `/v1/orgs/${org.orgId}/archive/search`, body, who.headers());
  const audited = async () =>
    (await t.stores.auditPending.list(org.orgId, 0, 100_000)).filter((e) => e.kind === 'archive.search');
  const all = () => buckets.flatMap((b) => inBucket.get(b)!);

  it('answers bucket by bucket in the order given, newest first in each; one request, one audit entry naming its buckets', async () => {
    const before = (await audited()).length;
    const r = await search({ buckets: every(), limit: 100 });
    expect(r.statusCode, r.body).toBe(200);
    const page = r.json<Page>();
    expect(page.records.map((h) => h.logIndex)).toEqual(all());
    expect(page.records.map((h) => h.bucketId)).toEqual(
      buckets.flatMap((b) => inBucket.get(b)!.map(() => b)),
    );
    expect(page.next).toBeNull();
    const added = (await audited()).slice(before);
    expect(added).toHaveLength(1);
    expect(added[0]!.detail).toBe(
      `buckets=${buckets.join(',')} tokens=${buckets.length} results=${all().length}`,
    );
    expect(JSON.stringify(added)).not.toContain(SHARED.toString('base64url'));
    // Each bucket's tokens count in that bucket only: the same token named for one bucket finds its records alone.
    const one = await search({ buckets: every([buckets[3]!]), limit: 100 });
    expect(one.json<Page>().records.map((h) => h.logIndex)).toEqual(inBucket.get(buckets[3]!));
  });

  it('pages by a cursor naming bucket and position: the pages add up to the whole answer, each one request', async () => {
    const before = (await audited()).length;
    const seen: number[] = [];
    let cursor: Cursor | null = null;
    let requests = 0;
    do {
      const r = await search({ buckets: every(), limit: 4, ...(cursor === null ? {} : { cursor }) });
      expect(r.statusCode, r.body).toBe(200);
      requests++;
      const page: Page = r.json<Page>();
      expect(page.records.length).toBeLessThanOrEqual(4);
      seen.push(...page.records.map((h) => h.logIndex));
      const last = page.records[page.records.length - 1];
      // The cursor is where the page stopped: in the bucket of its last hit, or at the next bucket's start.
      if (page.next?.before !== undefined)
        expect(page.next).toEqual({ bucket: last!.bucketId, before: String(last!.logIndex) });
      cursor = page.next;
    } while (cursor !== null && requests < 20);
    expect(seen).toEqual(all());
    expect(requests).toBeLessThanOrEqual(Math.ceil(all().length / 4) + 1);
    const added = (await audited()).slice(before);
    expect(added).toHaveLength(requests);
    // A resumed page names the buckets from the cursor's on: those are the ones it searches.
    for (const e of added) expect(buckets.join(',')).toContain(/^buckets=([^ ]+) /.exec(e.detail ?? '')![1]!);
  });

  it("a page that ends with a bucket's last hit points at the next bucket's start", async () => {
    const first = inBucket.get(buckets[0]!)!;
    const r = await search({ buckets: every(), limit: first.length });
    expect(r.json<Page>().records.map((h) => h.logIndex)).toEqual(first);
    expect(r.json<Page>().next).toEqual({ bucket: buckets[1] });
    const rest = await search({ buckets: every(), limit: 100, cursor: r.json<Page>().next });
    expect(rest.json<Page>().records.map((h) => h.logIndex)).toEqual(all().slice(first.length));
    expect(rest.json<Page>().next).toBeNull();
  });

  it('keeps one custodian device across the buckets', async () => {
    const r = await search({ buckets: every(), device: org.members[4]!.deviceId, limit: 100 });
    expect(r.json<Page>().records.map((h) => h.logIndex)).toEqual(inBucket.get(buckets[4]!));
  });

  it('a burst of searches over seven buckets spends one rate-limit token each, not one per bucket', async () => {
    const officer = await enrolNewUser(t.app, org.admin, 'auditor');
    const before = (await audited()).length;
    const statuses: number[] = [];
    for (let i = 0; i < SEARCH_RATE_BURST; i++)
      statuses.push((await search({ buckets: every() }, officer)).statusCode);
    expect(statuses).toEqual(Array(SEARCH_RATE_BURST).fill(200));
    expect((await audited()).length - before).toBe(SEARCH_RATE_BURST);
    // The burst is spent now: the limit still holds per request.
    expect((await search({ buckets: every() }, officer)).statusCode).toBe(429);
  });

  it('refuses bad input with an error naming it, before it reads, spends or writes anything', async () => {
    const officer = await enrolNewUser(t.app, org.admin, 'auditor');
    const snapshots = openSnapshotter(tb.config);
    try {
      const state = await snapshots.snapshot();
      const token = () => b64(randomBytes(16));
      const refusals: [unknown, number, string, RegExp][] = [
        [{ buckets: every(), colour: 'red' }, 400, 'INVALID_REQUEST', /colour/],
        [{ buckets: [{ bucket: buckets[0] }] }, 400, 'INVALID_REQUEST', /tokens/],
        [{ buckets: [{ bucket: 'no spaces', tokens: [token()] }] }, 400, 'INVALID_REQUEST', /bucket/],
        [
          {
            buckets: Array.from({ length: MAX_SEARCH_BUCKETS + 1 }, (_, i) => ({
              bucket: `b-${i}`,
              tokens: [token()],
            })),
          },
          400,
          'INVALID_REQUEST',
          new RegExp(`body\\.buckets.*${MAX_SEARCH_BUCKETS}`),
        ],
        [
          { buckets: [...every(), ...every([buckets[1]!])] },
          400,
          'INVALID_REQUEST',
          /buckets\.7\.bucket: named twice/,
        ],
        [
          {
            buckets: Array.from({ length: MAX_SEARCH_BUCKETS }, (_, i) => ({
              bucket: `b-${i}`,
              tokens: Array.from({ length: 32 }, token),
              dates: Array.from({ length: 33 }, token),
            })),
          },
          400,
          'INVALID_REQUEST',
          new RegExp(`1040 tokens in all, at most ${MAX_SEARCH_REQUEST_TOKENS}`),
        ],
        [
          { buckets: every(), cursor: { bucket: foreignBucket } },
          400,
          'INVALID_REQUEST',
          /body\.cursor\.bucket/,
        ],
        [
          { buckets: every(), cursor: { bucket: buckets[0], before: '9007199254740993' } },
          400,
          'INVALID_REQUEST',
          /body\.cursor\.before/,
        ],
        [
          { buckets: every(), pad: 'x'.repeat(SEARCH_BODY_LIMIT_BYTES) },
          413,
          'BODY_TOO_LARGE',
          new RegExp(`limit of ${SEARCH_BODY_LIMIT_BYTES} bytes`),
        ],
        ['{"buckets": [', 400, 'MALFORMED_JSON', /./],
      ];
      for (const [body, status, code, message] of refusals) {
        const r =
          typeof body === 'string'
            ? await t.app.inject({
                method: 'POST',
                url: `/v1/orgs/${org.orgId}/archive/search`,
                payload: body,
                headers: { ...officer.headers(), 'content-type': 'application/json' },
              })
            : await search(body, officer);
        const what = JSON.stringify(body).slice(0, 120);
        expect(r.statusCode, `${what}: ${r.body}`).toBe(status);
        const error = r.json<{ error: { code: string; message: string } }>().error;
        expect(error.code, what).toBe(code);
        expect(error.message, what).toMatch(message);
        expect(await snapshots.snapshot(), what).toBe(state);
      }
      // None of the refusals spent a rate-limit token: the whole burst is still there.
      for (let i = 0; i < SEARCH_RATE_BURST; i++)
        expect((await search({ buckets: every() }, officer)).statusCode).toBe(200);
    } finally {
      await snapshots.close();
    }
  });

  it('refuses an unknown bucket or device for one rate-limit token, and writes nothing', async () => {
    // Looking up what a request names reads the store (a bucket each, then the device), so the
    // route spends the token first: a refusal here costs what a search costs, and no more.
    const officer = await enrolNewUser(t.app, org.admin, 'auditor');
    const snapshots = openSnapshotter(tb.config);
    try {
      const state = await snapshots.snapshot();
      const refusals: [unknown, string, RegExp][] = [
        [
          { buckets: [...every(), { bucket: foreignBucket, tokens: [b64(SHARED)] }] },
          'BUCKET_NOT_FOUND',
          /^body\.buckets\.7\.bucket: no such bucket/,
        ],
        [
          { buckets: every(), device: org.members[0]!.deviceId.slice(0, -1) + 'x' },
          'DEVICE_NOT_FOUND',
          /device/,
        ],
      ];
      for (const [body, code, message] of refusals) {
        const r = await search(body, officer);
        expect(r.statusCode, r.body).toBe(404);
        const error = r.json<{ error: { code: string; message: string } }>().error;
        expect(error.code).toBe(code);
        expect(error.message).toMatch(message);
        // No audit entry, no alert: nothing written.
        expect(await snapshots.snapshot()).toBe(state);
      }
      // The clock stands still, so nothing refills: each refusal spent exactly one token of the burst.
      for (let i = 0; i < SEARCH_RATE_BURST - refusals.length; i++)
        expect((await search({ buckets: every() }, officer)).statusCode).toBe(200);
      expect((await search({ buckets: every() }, officer)).statusCode).toBe(429);
    } finally {
      await snapshots.close();
    }
  });

  it('takes the largest request its limits allow within its body limit', async () => {
    // 16 buckets with the longest ids and 1,024 tokens: refused only because no such bucket exists.
    const token = () => b64(randomBytes(16));
    const body = {
      buckets: Array.from({ length: MAX_SEARCH_BUCKETS }, (_, i) => ({
        bucket: `${i}`.padStart(64, 'b'),
        tokens: Array.from({ length: MAX_SEARCH_REQUEST_TOKENS / MAX_SEARCH_BUCKETS / 2 }, token),
        dates: Array.from({ length: MAX_SEARCH_REQUEST_TOKENS / MAX_SEARCH_BUCKETS / 2 }, token),
      })),
      device: org.members[0]!.deviceId,
      limit: MAX_SEARCH_PAGE,
      cursor: { bucket: `${0}`.padStart(64, 'b'), before: '9007199254740991' },
    };
    expect(JSON.stringify(body).length).toBeLessThan(SEARCH_BODY_LIMIT_BYTES);
    const r = await search(body);
    expect(r.json<{ error: { code: string } }>().error.code, r.body).toBe('BUCKET_NOT_FOUND');
  });
});
