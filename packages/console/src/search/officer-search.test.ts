/**
 * officerSearch's requests: every bucket of a search in one request (newest bucket first, each
 * with the tokens of its own index key), more only beyond the server's per-request limits, the
 * server's cursor (bucket and position) followed until it is done, a console cursor resumed at
 * its bucket, and a server cursor that does not move forward or names a bucket not asked for
 * refused. The fake server answers no records: opening and verifying hits is verify-hit.test.ts's
 * and the e2e's (test/officer-search.test.ts, against a real server over six buckets). Keys are
 * opened a request at a time: a stand-in server with records in the newest bucket counts the
 * wrap listings a page makes, and where each bucket without a wrap is reported.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BlindIndexKey, generateBucketKeyPair, tokensForQuery, type BlindToken } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { officerRecipient, wrapBucketKey, type UnwrappedBucketKey } from '../bucket-key-wrap.js';
import {
  body,
  buildTestArchive,
  ORG as ARCHIVE_ORG,
  type TestArchive,
} from '../export/export-test-support.js';
import type { OfficerSession, VerifiedServerBucket } from '../officer-session.js';
import { officerSearch, RequestGroups, type SearchReuse } from './officer-search.js';

const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');

const ORG = 'acme';
const MONTH_MS = 31 * 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

interface SearchRequest {
  buckets: { bucket: string; tokens: string[]; dates?: string[] }[];
  limit: number;
  cursor?: { bucket: string; before?: string };
}
type Answer = (req: SearchRequest, n: number) => { bucket: string; before?: string } | null;

describe('officerSearch over several buckets', () => {
  let dir: string;
  /** Bucket ids, oldest first, each a month; and each one's keys (its own index key). */
  let ids: string[];
  let keys: Map<string, UnwrappedBucketKey>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-officer-search-'));
    ids = Array.from({ length: 20 }, (_, i) => `standard-m${String(i).padStart(2, '0')}`);
    keys = new Map();
    for (const bucket of ids) {
      const pair = await generateBucketKeyPair();
      keys.set(bucket, {
        org: ORG,
        bucket,
        to: 'officer-0',
        privateKey: pair.privateKey,
        indexKey: BlindIndexKey.fromBytes(randomBytes(32)),
      });
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A session over `count` buckets whose server answers no records and the cursors `next` gives. */
  function server(count: number, next: Answer = () => null) {
    const requests: SearchRequest[] = [];
    const buckets = ids.slice(0, count).map(
      (bucket, i) =>
        ({
          bucket,
          notBefore: T0 + i * MONTH_MS,
          notAfter: T0 + (i + 1) * MONTH_MS - 1,
        }) as VerifiedServerBucket,
    );
    const session = {
      orgId: ORG,
      dir,
      call: (method: string, path: string, body: unknown) => {
        if (method !== 'POST' || path !== `/v1/orgs/${ORG}/archive/search`)
          throw new Error(`unexpected ${path}`);
        const req = body as SearchRequest;
        requests.push(req);
        return Promise.resolve({
          records: [],
          checkpoint: { treeSize: 0, note: '' },
          next: next(req, requests.length),
        });
      },
    } as unknown as OfficerSession;
    const reuse = (): SearchReuse => ({
      log: { origin: 'custos.example/acme', verifierKey: 'unused' },
      buckets,
      keys: new Map(keys),
    });
    return { session, requests, reuse };
  }

  const tokensOf = (bucket: string, text: string) =>
    tokensForQuery(keys.get(bucket)!.indexKey, { text }).allOf.map((t) =>
      Buffer.from(t).toString('base64url'),
    );

  it('asks once for six buckets, newest first, each with the tokens of its own index key', async () => {
    const s = server(6);
    const r = await officerSearch(s.session, { text: 'budget' }, { reuse: s.reuse() });
    expect(s.requests).toHaveLength(1);
    const newestFirst = ids.slice(0, 6).reverse();
    expect(s.requests[0]!.buckets).toEqual(
      newestFirst.map((bucket) => ({ bucket, tokens: tokensOf(bucket, 'budget') })),
    );
    expect(s.requests[0]!.cursor).toBeUndefined();
    expect(r.bucketsSearched).toEqual(newestFirst);
    expect(r.next).toBeNull();
  });

  it("splits only at the server's per-request limits: 20 buckets are two requests", async () => {
    const s = server(20);
    await officerSearch(s.session, { text: 'budget' }, { reuse: s.reuse() });
    expect(s.requests.map((q) => q.buckets.length)).toEqual([16, 4]);
    expect(s.requests.flatMap((q) => q.buckets.map((b) => b.bucket))).toEqual([...ids].reverse());
  });

  it("follows the server's cursor (bucket and position) until it is done, then stops", async () => {
    const newestFirst = ids.slice(0, 6).reverse();
    const cursors = [
      { bucket: newestFirst[1]!, before: '40' },
      { bucket: newestFirst[1]!, before: '12' },
      { bucket: newestFirst[4]! },
    ];
    const s = server(6, (_req, n) => cursors[n - 1] ?? null);
    const r = await officerSearch(s.session, { text: 'budget' }, { reuse: s.reuse() });
    expect(s.requests.map((q) => q.cursor)).toEqual([undefined, ...cursors]);
    // Every request names the same buckets: the cursor says where in them to go on.
    for (const q of s.requests) expect(q.buckets.map((b) => b.bucket)).toEqual(newestFirst);
    expect(r.next).toBeNull();
  });

  it('resumes a console cursor at its bucket and position, leaving out the buckets before it', async () => {
    const newestFirst = ids.slice(0, 6).reverse();
    const cursor = Buffer.from(JSON.stringify({ b: newestFirst[2], c: '77' })).toString('base64url');
    const s = server(6);
    await officerSearch(s.session, { text: 'budget' }, { reuse: s.reuse(), cursor });
    expect(s.requests).toHaveLength(1);
    expect(s.requests[0]!.buckets.map((b) => b.bucket)).toEqual(newestFirst.slice(2));
    expect(s.requests[0]!.cursor).toEqual({ bucket: newestFirst[2], before: '77' });
  });

  it('refuses a server cursor that does not move forward or names a bucket it was not asked for', async () => {
    const newestFirst = ids.slice(0, 6).reverse();
    for (const bad of [
      { bucket: newestFirst[0]! },
      { bucket: newestFirst[3]!, before: '50' },
      { bucket: 'standard-elsewhere', before: '1' },
      { bucket: newestFirst[1]!, before: 'x' },
    ]) {
      // The first answer moves to bucket 3 at 50; the second is the bad one.
      const s = server(6, (_req, n) => (n === 1 ? { bucket: newestFirst[3]!, before: '50' } : bad));
      await expect(
        officerSearch(s.session, { text: 'budget' }, { reuse: s.reuse() }),
        JSON.stringify(bad),
      ).rejects.toMatchObject({
        code: 'SERVER_REFUSED',
      });
      expect(s.requests).toHaveLength(2);
    }
  });

  it('groups buckets by the per-request bucket and token limits, in order, opening each once', async () => {
    const t = (n: number) => ({
      allOf: Array.from({ length: n }, () => new Uint8Array(16) as BlindToken),
      anyOf: [],
    });
    const all = async (ids: readonly string[], n: number, noWrap: ReadonlySet<string> = new Set()) => {
      const opened: string[] = [];
      const groups = new RequestGroups(ids, (bucket) => {
        opened.push(bucket);
        return Promise.resolve(noWrap.has(bucket) ? null : { bucket, tokens: t(n) });
      });
      const out: string[][] = [];
      for (let g = await groups.next(); g.length > 0; g = await groups.next())
        out.push(g.map((x) => x.bucket));
      expect(opened).toEqual(ids);
      return { out, noWrap: groups.noWrap };
    };
    const named = (n: number) => Array.from({ length: n }, (_, i) => `b${i}`);
    // 288 tokens a bucket: three fit in 1,024.
    expect((await all(named(7), 288)).out).toEqual([['b0', 'b1', 'b2'], ['b3', 'b4', 'b5'], ['b6']]);
    expect((await all(named(33), 2)).out.map((g) => g.length)).toEqual([16, 16, 1]);
    // A bucket without a wrap takes no place in a request.
    const gaps = await all(named(18), 2, new Set(['b3', 'b17']));
    expect(gaps.out.map((g) => g.length)).toEqual([16]);
    expect(gaps.noWrap).toEqual(['b3', 'b17']);
    expect((await all([], 2)).out).toEqual([]);
  });
});

describe('officerSearch opens bucket keys a request at a time', () => {
  /** Buckets newest first: the newest holds the three records; officer 0 holds no wrap of two others. */
  const ids = Array.from({ length: 22 }, (_, i) => (i === 0 ? 'standard-2026-01' : `standard-old-${i}`));
  const NO_WRAP = new Set([ids[5]!, ids[19]!]);
  let dir: string;
  let archive: TestArchive;
  let wraps: Map<string, Uint8Array>;
  let officerKey: Awaited<ReturnType<typeof generateBucketKeyPair>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'custos-officer-search-lazy-'));
    // The profile holds no wraps: every bucket's wrap is listed from the server, which counts it.
    writeFileSync(
      join(dir, 'bucket-keys.json'),
      JSON.stringify({
        format: 'custos-officer-bucket-keys',
        version: 1,
        orgId: ARCHIVE_ORG,
        officerIndex: 0,
        wraps: [],
      }),
    );
    archive = await buildTestArchive(
      ['budget one', 'budget two', 'budget three'].map((text, i) => ({
        device: 'dev-a',
        body: body({ messageId: `m-${i}`, text, sentAt: Date.UTC(2026, 0, 5) + i }),
      })),
    );
    officerKey = await generateBucketKeyPair();
    wraps = new Map();
    for (const bucket of ids) {
      if (NO_WRAP.has(bucket)) continue;
      const key = bucket === ids[0] ? archive.bucketKey : (await generateBucketKeyPair()).privateKey;
      const info = { org: ARCHIVE_ORG, bucket, to: officerRecipient(0) } as const;
      wraps.set(bucket, await wrapBucketKey(info, key, randomBytes(32), officerKey.publicKey));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in server: each bucket's wrap listing (counted), and the records of the newest bucket. */
  function server() {
    const listed: string[] = [];
    const searches: SearchRequest[] = [];
    const hits = archive.input.records.map((r) => ({
      record: b64u(r.sealed),
      hash: b64u(r.hash),
      logIndex: r.log.index,
      deviceId: r.header.device,
      seq: r.header.seq,
      bucketId: r.header.bucket,
      receivedAt: r.log.loggedAt,
      identityKey: b64u(r.batch.identityKey),
      sessionKey: b64u(archive.sessionKeys.get('dev-a')!),
      batch: {
        firstSeq: r.batch.firstSeq,
        signature: b64u(r.batch.signature),
        hashes: r.batch.hashes.map(b64u),
      },
      proof: r.log.proof.map(b64u),
    }));
    const newestFirst = [...hits].sort((a, b) => b.logIndex - a.logIndex);
    const session = {
      orgId: ARCHIVE_ORG,
      dir,
      officerIndex: 0,
      officer: { keys: { hpkePrivateKey: officerKey.privateKey } },
      call: (method: string, path: string, body: unknown) => {
        const wrap = /\/buckets\/([^/]+)\/officer-wraps$/.exec(path);
        if (method === 'GET' && wrap !== null) {
          const bucket = decodeURIComponent(wrap[1]!);
          listed.push(bucket);
          const blob = wraps.get(bucket);
          return Promise.resolve({
            items: blob === undefined ? [] : [{ bucketId: bucket, recipient: '0', blob: b64u(blob) }],
          });
        }
        if (method !== 'POST' || path !== `/v1/orgs/${ARCHIVE_ORG}/archive/search`)
          throw new Error(`unexpected ${method} ${path}`);
        const req = body as SearchRequest;
        searches.push(req);
        // Only the newest bucket has records: from the cursor's position, then the rest of the request is empty.
        const inFirst = req.buckets[0]!.bucket === ids[0];
        const before = req.cursor?.before === undefined ? Infinity : Number(req.cursor.before);
        const records = inFirst ? newestFirst.filter((h) => h.logIndex < before).slice(0, req.limit) : [];
        return Promise.resolve({
          records,
          checkpoint: { treeSize: 0, note: archive.input.records[0]!.log.checkpoint },
          next: null,
        });
      },
    } as unknown as OfficerSession;
    const reuse: SearchReuse = {
      log: archive.input.log,
      buckets: ids.map(
        (bucket, i) =>
          ({
            bucket,
            notBefore: T0 - i * MONTH_MS,
            notAfter: T0 - (i - 1) * MONTH_MS - 1,
          }) as VerifiedServerBucket,
      ),
      enrolment: () => Promise.resolve('match'),
      keys: new Map(),
    };
    return { session, listed, searches, reuse };
  }

  it("a page the first request fills opens only that request's buckets; the next page opens the rest, once each", async () => {
    const s = server();
    const first = await officerSearch(s.session, { text: 'budget' }, { limit: 2, reuse: s.reuse });
    expect(first.hits.map((h) => h.body.text)).toEqual(['budget three', 'budget two']);
    // The first request's 16 buckets, and the one without a wrap among them: not the 5 after.
    expect(s.listed).toEqual(ids.slice(0, 17));
    expect(s.searches).toHaveLength(1);
    expect(s.searches[0]!.buckets.map((b) => b.bucket)).toEqual(
      ids.slice(0, 17).filter((b) => !NO_WRAP.has(b)),
    );
    // The page ended in the newest bucket: what comes after it, with or without a wrap, is the next page's.
    expect(first.bucketsSearched).toEqual([ids[0]]);
    expect(first.bucketsWithoutWrap).toEqual([]);
    expect(first.next).not.toBeNull();

    const second = await officerSearch(
      s.session,
      { text: 'budget' },
      { limit: 2, reuse: s.reuse, cursor: first.next! },
    );
    expect(second.hits.map((h) => h.body.text)).toEqual(['budget one']);
    expect(second.next).toBeNull();
    // Every bucket's wrap was listed once over the two pages; each bucket without one is named on one page.
    expect(s.listed).toEqual(ids);
    expect(second.bucketsSearched).toEqual(ids.filter((b) => !NO_WRAP.has(b)));
    expect(second.bucketsWithoutWrap).toEqual([ids[5], ids[19]]);
  });
});
