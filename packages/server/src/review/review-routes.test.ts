/**
 * The review and audit routes over an in-process app whose audit sink sequences log
 * entries: a rule's tokens queue exactly the matching records when the indexer runs; the
 * next item, a decision recorded once (unknown items, a second decision, another org's
 * item and bad bodies refused, nothing changed); the sampling setting; and the audit
 * listing, whose entries prove into the signed checkpoint and hash their documents.
 */
import { createHash, randomBytes } from 'node:crypto';
import { decodeStrictCbor, decodeLogEntry, hashLeaf, openCheckpoint, verifyInclusion } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArchivingOrg, type ArchivingOrg } from '../archive/archive-test-support.js';
import { newBootstrapToken, sha256 } from '../crypto/secrets.js';
import { sequencingAuditSink } from '../log-service/audit-sequencing.js';
import { logOriginFor, logVerifierKey } from '../log-service/checkpoint-signing.js';
import { silentLogger } from '../log/logger.js';
import { SearchIndexer } from '../search/search-indexer.js';
import {
  FIXTURE_LOG_KEY,
  storeRecords,
  SyntheticDevice,
  testIntegrator,
} from '../search/search-test-support.js';
import { call, createTestApp, type TestApp } from '../testing/test-app.js';
import { openSnapshotter, openTestSqlite, type TestBackend } from '../testing/test-stores.js';

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
const [W1, W2, OTHER] = [randomBytes(16), randomBytes(16), randomBytes(16)];

interface Item {
  itemId: string;
  logIndex: number;
  deviceId: string;
  seq: number;
  sampled: boolean;
  rules: { ruleId: string; name: string }[];
  decision: string | null;
  note: string | null;
}

describe('review and audit routes', () => {
  let tb: TestBackend;
  let t: TestApp;
  let org: ArchivingOrg;
  let foreign: ArchivingOrg;
  let dev: SyntheticDevice;
  let logIndexes: number[];
  let ruleId: string;

  const settle = async (): Promise<void> => {
    await testIntegrator(t.stores, FIXTURE_LOG_KEY).integrateAll();
    await new SearchIndexer({ stores: t.stores, logger: silentLogger }).indexAll();
  };
  const as = (o: ArchivingOrg) => o.officer.headers();

  beforeAll(async () => {
    tb = await openTestSqlite();
    t = await createTestApp(tb.stores, { audit: sequencingAuditSink });
    org = await createArchivingOrg(t, 1);
    const second = newBootstrapToken();
    await t.stores.bootstrap.issue(sha256(second), t.clock.now, t.clock.now + 3_600_000);
    foreign = await createArchivingOrg({ ...t, bootstrapToken: second }, 1);
    // No random sampling in org A, so only rule matches are queued.
    const off = await call(t.app, 'PUT', `/v1/orgs/${org.orgId}/review/settings`, { sampleRate: 0 }, as(org));
    expect(off.statusCode, off.body).toBe(200);
    const add = await call(
      t.app,
      'POST',
      `/v1/orgs/${org.orgId}/review/rules`,
      // One term of two words (a phrase), one of a single word.
      {
        name: 'R-1',
        terms: 2,
        buckets: [{ bucket: org.bucketId, terms: [[b64(W1), b64(W2)], [b64(OTHER)]] }],
      },
      as(org),
    );
    expect(add.statusCode, add.body).toBe(201);
    ruleId = add.json<{ ruleId: string }>().ruleId;
    dev = new SyntheticDevice(org.orgId, org.bucketId, org.members[0]!.deviceId);
    logIndexes = await storeRecords(t.stores, org.orgId, [
      { device: dev, ...dev.next([W1]) }, // one word of the phrase: not queued
      { device: dev, ...dev.next([W1, W2, randomBytes(16)]) }, // the phrase: queued
      { device: dev, ...dev.next([OTHER]) }, // the single word: queued
      { device: dev, ...dev.next([randomBytes(16)]) }, // nothing: not queued
    ]);
    const fdev = new SyntheticDevice(foreign.orgId, foreign.bucketId, foreign.members[0]!.deviceId);
    await call(
      t.app,
      'PUT',
      `/v1/orgs/${foreign.orgId}/review/settings`,
      { sampleRate: 1_000_000 },
      as(foreign),
    );
    await storeRecords(t.stores, foreign.orgId, [{ device: fdev, ...fdev.next([W1, W2]) }]);
    await settle();
  });
  afterAll(async () => {
    await tb?.dispose();
  });

  const next = async (o: ArchivingOrg) => {
    const r = await call(t.app, 'GET', `/v1/orgs/${o.orgId}/review/next`, undefined, as(o));
    expect(r.statusCode, r.body).toBe(200);
    return r.json<{ item: Item | null; open: number }>();
  };
  const decide = (o: ArchivingOrg, itemId: string, body: Record<string, unknown>, orgId = o.orgId) =>
    call(t.app, 'POST', `/v1/orgs/${orgId}/review/items/${itemId}/decision`, body, as(o));

  it('queues exactly the records that match a term, oldest first, naming the rule', async () => {
    const first = await next(org);
    expect(first.open).toBe(2);
    expect(first.item).toMatchObject({ logIndex: logIndexes[1], seq: 1, sampled: false, decision: null });
    expect(first.item!.rules).toEqual([{ ruleId, name: 'R-1' }]);
    const rules = await call(t.app, 'GET', `/v1/orgs/${org.orgId}/review/rules`, undefined, as(org));
    expect(rules.json<{ rules: { ruleId: string; terms: number; buckets: string[] }[] }>().rules).toEqual([
      expect.objectContaining({ ruleId, terms: 2, buckets: [org.bucketId] }),
    ]);
    // Org B samples everything: its one record is queued there, and only there.
    const theirs = await next(foreign);
    expect(theirs.open).toBe(1);
    expect(theirs.item!.sampled).toBe(true);
  });

  it('records a decision once; unknown, foreign and malformed requests change nothing', async () => {
    const { item } = await next(org);
    const theirs = (await next(foreign)).item!;
    const note = randomBytes(120);
    const snap = openSnapshotter(tb.config);
    try {
      const before = await snap.snapshot();
      const refused: [Promise<{ statusCode: number; body: string }>, number, string][] = [
        [
          decide(org, 'AAAAAAAAAAAAAAAAAAAAAA', { decision: 'cleared', note: b64(note) }),
          404,
          'REVIEW_ITEM_NOT_FOUND',
        ],
        // Another org's item, in the caller's own org: unknown there.
        [decide(org, theirs.itemId, { decision: 'cleared', note: b64(note) }), 404, 'REVIEW_ITEM_NOT_FOUND'],
        // The caller's item under another org's path: refused before anything is read.
        [
          decide(org, item!.itemId, { decision: 'cleared', note: b64(note) }, foreign.orgId),
          403,
          'WRONG_ORG',
        ],
        [decide(org, item!.itemId, { decision: 'approved', note: b64(note) }), 400, 'INVALID_REQUEST'],
        [decide(org, item!.itemId, { decision: 'cleared' }), 400, 'INVALID_REQUEST'],
        [decide(org, item!.itemId, { decision: 'cleared', note: 'not base64url!' }), 400, 'INVALID_REQUEST'],
        [
          decide(org, item!.itemId, { decision: 'cleared', note: b64(note), extra: 1 }),
          400,
          'INVALID_REQUEST',
        ],
        // A member may not decide.
        [
          call(
            t.app,
            'POST',
            `/v1/orgs/${org.orgId}/review/items/${item!.itemId}/decision`,
            { decision: 'cleared', note: b64(note) },
            org.members[0]!.headers(),
          ),
          403,
          'ROLE_FORBIDDEN',
        ],
      ];
      for (const [p, status, code] of refused) {
        const r = await p;
        expect(r.statusCode, r.body).toBe(status);
        expect(JSON.parse(r.body)).toMatchObject({ error: { code } });
      }
      expect(await snap.snapshot()).toBe(before);

      const ok = await decide(org, item!.itemId, { decision: 'violation', note: b64(note) });
      expect(ok.statusCode, ok.body).toBe(200);
      const noteHash = createHash('sha256').update(note).digest('hex');
      expect(ok.json()).toMatchObject({ itemId: item!.itemId, decision: 'violation', noteHash });
      const mid = await snap.snapshot();
      const again = await decide(org, item!.itemId, { decision: 'cleared', note: b64(note) });
      expect(again.statusCode).toBe(409);
      expect(again.json()).toMatchObject({ error: { code: 'REVIEW_ALREADY_DECIDED' } });
      expect(await snap.snapshot()).toBe(mid);
    } finally {
      await snap.close();
    }
    const got = await call(
      t.app,
      'GET',
      `/v1/orgs/${org.orgId}/review/items/${item!.itemId}`,
      undefined,
      as(org),
    );
    expect(got.json<Item>()).toMatchObject({ decision: 'violation', note: b64(note) });
    // The next item is the other match.
    expect((await next(org)).item!.logIndex).toBe(logIndexes[2]);
  });

  it('rules: bad input refused, removal stops matching and is final', async () => {
    const post = (body: Record<string, unknown>) =>
      call(t.app, 'POST', `/v1/orgs/${org.orgId}/review/rules`, body, as(org));
    const tok = [[b64(randomBytes(16))]];
    expect(
      (await post({ name: 'x', terms: 2, buckets: [{ bucket: org.bucketId, terms: tok }] })).statusCode,
    ).toBe(400);
    expect(
      (await post({ name: 'x', terms: 1, buckets: [{ bucket: 'no-such-bucket', terms: tok }] })).json(),
    ).toMatchObject({ error: { code: 'BUCKET_NOT_FOUND' } });
    expect(
      (await post({ name: 'x', terms: 1, buckets: [{ bucket: org.bucketId, terms: [['short']] }] }))
        .statusCode,
    ).toBe(400);
    const del = (id: string, o = org) =>
      call(t.app, 'POST', `/v1/orgs/${o.orgId}/review/rules/${id}/removal`, {}, as(o));
    expect((await del(ruleId, foreign)).json()).toMatchObject({ error: { code: 'RULE_NOT_FOUND' } });
    expect((await del(ruleId)).statusCode).toBe(200);
    expect((await del(ruleId)).json()).toMatchObject({ error: { code: 'RULE_NOT_FOUND' } });
    const before = (await next(org)).open;
    await storeRecords(t.stores, org.orgId, [{ device: dev, ...dev.next([OTHER]) }]);
    await settle();
    expect((await next(org)).open).toBe(before);
  });

  it('extends a rule to a bucket it does not cover: later records there are queued; once, active rules only', async () => {
    const later = randomBytes(16);
    const id = randomBytes(16).toString('base64url'); // a rule id's shape
    // A rule added before the bucket existed: no tokens yet, its terms sealed (opaque here).
    const sealed = randomBytes(48);
    await t.stores.review.addRule(
      org.orgId,
      {
        ruleId: id,
        name: 'R-2',
        terms: 1,
        createdBy: org.officer.deviceId,
        createdAt: t.clock.now,
        sealed,
      },
      [],
    );
    const listed = await call(t.app, 'GET', `/v1/orgs/${org.orgId}/review/rules`, undefined, as(org));
    expect(listed.json<{ rules: { ruleId: string; sealed: string | null }[] }>().rules).toContainEqual(
      expect.objectContaining({ ruleId: id, sealed: b64(sealed) }),
    );
    const extend = (rule: string, body: Record<string, unknown>, o = org) =>
      call(t.app, 'POST', `/v1/orgs/${o.orgId}/review/rules/${rule}/buckets`, body, as(o));
    const body = { buckets: [{ bucket: org.bucketId, terms: [[b64(later)]] }] };
    const ok = await extend(id, body);
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ ruleId: id, buckets: [org.bucketId] });
    const before = (await next(org)).open;
    const [queuedIndex] = await storeRecords(t.stores, org.orgId, [{ device: dev, ...dev.next([later]) }]);
    await settle();
    expect((await next(org)).open).toBe(before + 1);
    // Sampling is off and no other rule carries `later`: the new item is the extended rule's.
    expect(queuedIndex).toBeGreaterThan(0);
    const refusals: [Awaited<ReturnType<typeof extend>>, string][] = [
      [await extend(id, body), 'INVALID_REQUEST'],
      [
        await extend(id, { buckets: [{ bucket: 'no-such-bucket', terms: [[b64(later)]] }] }),
        'BUCKET_NOT_FOUND',
      ],
      [
        await extend(id, { buckets: [{ bucket: org.bucketId, terms: [[b64(later)], [b64(later)]] }] }),
        'INVALID_REQUEST',
      ],
      [await extend(id, body, foreign), 'RULE_NOT_FOUND'],
      [await extend(ruleId, body), 'RULE_NOT_FOUND'], // removed above
    ];
    for (const [r, code] of refusals) expect(r.json(), r.body).toMatchObject({ error: { code } });
  });

  it('the audit listing proves every act into the checkpoint and hashes each document', async () => {
    await settle();
    const r = await call(t.app, 'GET', `/v1/orgs/${org.orgId}/audit?limit=500`, undefined, as(org));
    expect(r.statusCode, r.body).toBe(200);
    const a = r.json<{
      acts: { index: number; entry: string; document: string | null; proof: string[] }[];
      checkpoint: { treeSize: number; note: string };
      next: string | null;
    }>();
    const origin = logOriginFor('custos.test', org.orgId);
    const cp = openCheckpoint(
      a.checkpoint.note,
      [logVerifierKey(origin, FIXTURE_LOG_KEY)],
      origin,
    ).checkpoint;
    const kinds: string[] = [];
    for (const act of a.acts) {
      const entry = Buffer.from(act.entry, 'base64url');
      verifyInclusion(
        hashLeaf(entry),
        act.index,
        cp.treeSize,
        act.proof.map((p) => Buffer.from(p, 'base64url')),
        cp.rootHash,
      );
      const e = decodeLogEntry(entry);
      expect(e.type).not.toBe('archive-record');
      if (e.type === 'audit-event') {
        kinds.push(e.kind);
        expect(act.document).not.toBeNull();
        const doc = Buffer.from(act.document!, 'base64url');
        expect(createHash('sha256').update(doc).digest()).toEqual(Buffer.from(e.hash));
        const d = decodeStrictCbor(doc, 'audit document', 'MALFORMED_LOG_ENTRY') as Record<string, unknown>;
        expect(d.org).toBe(org.orgId);
        if (e.kind === 'review-decide')
          expect(d.det).toMatch(/^decision=violation record=\d+ note=[0-9a-f]{64}$/);
      }
    }
    expect(kinds, kinds.join(' ')).toEqual(
      expect.arrayContaining([
        'org-create',
        'review-settings',
        'review-rule-add',
        'review-decide',
        'review-rule-remove',
      ]),
    );
    // Nothing of org B is listed, and a tampered proof fails.
    expect(
      a.acts.every((x) => !Buffer.from(x.document ?? '', 'base64url').includes(Buffer.from(foreign.orgId))),
    ).toBe(true);
    const first = a.acts[0]!;
    expect(() =>
      verifyInclusion(
        hashLeaf(Buffer.from(first.entry, 'base64url')),
        first.index + 1,
        cp.treeSize,
        first.proof.map((p) => Buffer.from(p, 'base64url')),
        cp.rootHash,
      ),
    ).toThrow();
    // Paging: one at a time gives the same acts.
    const seen: number[] = [];
    let after: string | null = null;
    for (let i = 0; i < 200; i++) {
      const p = await call(
        t.app,
        'GET',
        `/v1/orgs/${org.orgId}/audit?limit=1${after === null ? '' : `&after=${after}`}`,
        undefined,
        as(org),
      );
      const page = p.json<{ acts: { index: number }[]; next: string | null }>();
      seen.push(...page.acts.map((x) => x.index));
      after = page.next;
      if (after === null) break;
    }
    expect(seen).toEqual(a.acts.map((x) => x.index));
    // Members may not read it; a bad cursor is refused.
    expect(
      (await call(t.app, 'GET', `/v1/orgs/${org.orgId}/audit`, undefined, org.members[0]!.headers()))
        .statusCode,
    ).toBe(403);
    expect(
      (await call(t.app, 'GET', `/v1/orgs/${org.orgId}/audit?after=-1`, undefined, as(org))).statusCode,
    ).toBe(400);
  });
});
