/**
 * officerSearch's requests: every bucket of a search in one request (newest bucket first, each
 * with the tokens of its own index key), more only beyond the server's per-request limits, the
 * server's cursor (bucket and position) followed until it is done, a console cursor resumed at
 * its bucket, and a server cursor that does not move forward or names a bucket not asked for
 * refused. The fake server answers no records: opening and verifying hits is verify-hit.test.ts's
 * and the e2e's (test/officer-search.test.ts, against a real server over six buckets).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BlindIndexKey, generateBucketKeyPair, tokensForQuery, type BlindToken } from '@custos/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnwrappedBucketKey } from '../bucket-key-wrap.js';
import type { OfficerSession, VerifiedServerBucket } from '../officer-session.js';
import { officerSearch, requestGroups, type SearchReuse } from './officer-search.js';

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

  it('groups buckets by the per-request bucket and token limits, in order', () => {
    const t = (n: number) => ({
      allOf: Array.from({ length: n }, () => new Uint8Array(16) as BlindToken),
      anyOf: [],
    });
    const heavy = Array.from({ length: 7 }, (_, i) => ({ id: i, tokens: t(288) }));
    // 288 tokens a bucket: three fit in 1,024.
    expect(requestGroups(heavy).map((g) => g.map((x) => x.id))).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    const light = Array.from({ length: 33 }, (_, i) => ({ id: i, tokens: t(2) }));
    expect(requestGroups(light).map((g) => g.length)).toEqual([16, 16, 1]);
    expect(requestGroups([])).toEqual([]);
  });
});
