import { generateIndexSecret, genesisPrevHash, parseRecord, recordHashOf } from '@custos/core';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalStore } from '../store/local-store.js';
import { ArchiveCapture, decodeQueued, dropQueued, loadChain } from './capture.js';
import {
  DAY_MS as DAY,
  TEST_NOW as NOW,
  putTestBucket as putBucket,
  TempStores,
  testBody as body,
  testProfile as profile,
} from './archive-test-support.js';
import { disposedBucketIds, noteDisposedBucket } from './disposed-buckets.js';

const stores = new TempStores();
afterEach(() => stores.removeAll());

async function setup(clock: () => number = () => NOW) {
  const store = stores.open('custos-capture-');
  await putBucket(store, 'b1', NOW - DAY, NOW + 10 * DAY);
  return { store, capture: new ArchiveCapture(store, profile, clock) };
}

/** Headers of the queued records, checked to chain from genesis. */
function queuedChain(store: LocalStore) {
  let prev: Uint8Array = genesisPrevHash();
  return store.list('archive-queue').map((row) => {
    const q = decodeQueued(row.value);
    const h = parseRecord(q.bytes).header;
    expect(h.seq).toBe(q.seq);
    expect(Buffer.from(h.prev).equals(Buffer.from(prev))).toBe(true);
    expect(Buffer.from(recordHashOf(q.bytes)).equals(Buffer.from(q.hash))).toBe(true);
    prev = q.hash;
    return h;
  });
}

describe('ArchiveCapture', () => {
  it("lists its attachments' blob ids in the record header, sorted and once each; none without attachments", async () => {
    const { store, capture } = await setup();
    const id = (b: number) => Buffer.alloc(32, b).toString('hex');
    const att = (blobId: string, size: number) => ({
      blobId,
      key: new Uint8Array(32),
      digest: new Uint8Array(32),
      size,
      contentType: 'application/pdf',
    });
    await capture.capture({
      ...body(1),
      // Two ids, one twice, and one a peer made up (no blob id: left out).
      attachments: [att(id(9), 10), att(id(3), 20), att(id(9), 10), att('not-a-blob', 5)],
    });
    await capture.capture(body(2));
    const [withAtt, without] = queuedChain(store);
    expect(withAtt!.blobIds).toEqual([id(3), id(9)]);
    expect(withAtt!.attachmentBytes).toBe(45);
    expect(without!.blobIds).toBeUndefined();
    capture.close();
    store.close();
  });

  it("seals through a bucket's last millisecond (naf is inclusive) and to the next month's bucket after it", async () => {
    // Monthly windows as the console makes them (bucket-periods.ts): each ends at the next start − 1.
    const feb = Date.UTC(2030, 1, 1);
    const mar = Date.UTC(2030, 2, 1);
    let now = feb - 2;
    const { store } = await setup(() => now);
    await putBucket(store, 'jan', Date.UTC(2030, 0, 1), feb - 1);
    await putBucket(store, 'feb', feb, mar - 1);
    store.delete('buckets', 'b1');
    const capture = new ArchiveCapture(store, profile, () => now);
    const bucketAt = async (t: number): Promise<string> => {
      now = t;
      const { seq } = await capture.capture(body(t));
      return decodeQueued(store.get('archive-queue', String(seq))!).bucket;
    };
    // The same capture, its cached choice included, then a fresh one at the boundary.
    expect([await bucketAt(feb - 2), await bucketAt(feb - 1), await bucketAt(feb)]).toEqual([
      'jan',
      'jan',
      'feb',
    ]);
    expect(await bucketAt(mar - 1)).toBe('feb');
    capture.close();
    const fresh = new ArchiveCapture(store, profile, () => feb - 1);
    const { seq } = await fresh.capture(body(1));
    expect(decodeQueued(store.get('archive-queue', String(seq))!).bucket).toBe('jan');
    fresh.close();
    store.close();
  });

  it('chains records, and keeps the head when the newest queued record is dropped', async () => {
    const { store, capture } = await setup();
    for (let i = 0; i < 3; i++) await capture.capture(body(i));
    expect(queuedChain(store).map((h) => h.seq)).toEqual([0, 1, 2]);
    const head = loadChain(store);
    expect(head.nextSeq).toBe(3);
    store.transaction(() => {
      for (const seq of [2, 0, 1]) dropQueued(store, seq);
    });
    expect(store.count('archive-queue')).toBe(0);
    const hex = (c: { nextSeq: number; prev: Uint8Array }) => [
      c.nextSeq,
      Buffer.from(c.prev).toString('hex'),
    ];
    expect(hex(loadChain(store))).toEqual(hex(head));
    // A fresh capture (another process) continues the chain from the saved head.
    capture.close();
    const again = new ArchiveCapture(store, profile, () => NOW);
    const r = await again.capture(body(3));
    expect(r.seq).toBe(3);
    const h = parseRecord(decodeQueued(store.get('archive-queue', '3')!).bytes).header;
    expect(Buffer.from(h.prev).equals(Buffer.from(head.prev))).toBe(true);
    again.close();
    store.close();
  });

  it('a rolled-back capture leaves no gap: the next record reuses its seq', async () => {
    const { store, capture } = await setup();
    await capture.capture(body(0));
    await capture.prepare();
    expect(() =>
      store.transaction(() => {
        capture.captureSync(body(1));
        throw new Error('send failed');
      }),
    ).toThrow('send failed');
    await expect(
      store.atomically(async () => {
        capture.captureSync(body(1));
        await Promise.resolve();
        throw new Error('send failed');
      }),
    ).rejects.toThrow('send failed');
    expect((await capture.capture(body(2))).seq).toBe(1);
    expect(queuedChain(store).map((h) => h.seq)).toEqual([0, 1]);
    capture.close();
    store.close();
  });

  it('picks up an index key and a newer bucket as soon as they are stored', async () => {
    let now = NOW;
    const { store, capture } = await setup(() => now);
    await capture.capture(body(0));
    store.put('index-keys', 'b1', generateIndexSecret());
    await capture.capture(body(1));
    // The next period's bucket, registered ahead of time, takes over when its window opens.
    await putBucket(store, 'b2', NOW + DAY, NOW + 40 * DAY);
    await capture.capture(body(2));
    now = NOW + DAY;
    await capture.capture(body(3));
    const headers = queuedChain(store);
    expect(headers.map((h) => h.tokens.length > 0)).toEqual([false, true, true, false]);
    expect(headers.map((h) => h.bucket as string)).toEqual(['b1', 'b1', 'b1', 'b2']);
    // Two session keys (one per bucket), each stored once.
    const keys = new Set(headers.map((h) => Buffer.from(h.sessionKeyId).toString('hex')));
    expect(keys.size).toBe(2);
    for (const k of keys) expect(store.get('archive-state', `skey:${k}`)).toBeDefined();
    capture.close();
    store.close();
  });
  it('queues records pending in the send transaction and seals them, chained, in a later batch', async () => {
    let now = NOW;
    const { store, capture } = await setup(() => now);
    await capture.capture(body(0));
    await capture.prepare();
    store.transaction(() => capture.captureSync(body(1)));
    await putBucket(store, 'b2', NOW + DAY, NOW + 40 * DAY);
    now = NOW + DAY;
    await capture.prepare();
    store.transaction(() => capture.captureSync(body(2)));
    // Pending rows carry no hash yet: the head's prev is unknown until they are sealed.
    expect(loadChain(store).nextSeq).toBe(3);
    expect(loadChain(store).prev).toHaveLength(0);
    // Proofs for record 0 drop it while later ones are pending: its hash stays the head.
    store.transaction(() => dropQueued(store, 0));
    expect(await capture.sealPending()).toBe(2);
    expect(await capture.sealPending()).toBe(0);
    const rows = store.list('archive-queue').map((r) => decodeQueued(r.value));
    expect(rows.map((q) => [q.seq, q.bucket])).toEqual([
      [1, 'b1'],
      [2, 'b2'],
    ]);
    // Each sealed to the bucket chosen at capture, and chained.
    expect(Buffer.from(parseRecord(rows[1]!.bytes).header.prev).equals(Buffer.from(rows[0]!.hash))).toBe(
      true,
    );
    expect(Buffer.from(loadChain(store).prev).equals(Buffer.from(rows[1]!.hash))).toBe(true);
    capture.close();
    store.close();
  });

  it('seals pending records to the current bucket, never again to one the server reported disposed of', async () => {
    const { store, capture } = await setup();
    await capture.prepare(); // chooses b1
    store.transaction(() => capture.captureSync(body(0)));
    // The server refused a record of b1 with BUCKET_DISPOSED (a device or server clock was off).
    noteDisposedBucket(store, { bucketId: 'b1', planId: 'ab'.repeat(32), disposedAt: NOW - 1 });
    expect(store.get('buckets', 'b1')).toBeUndefined();
    // No other bucket covers now: the record stays pending, and capture refuses to choose one.
    await expect(capture.sealPending()).rejects.toMatchObject({ code: 'NO_BUCKET_KEY' });
    await expect(capture.prepare()).rejects.toMatchObject({ code: 'NO_BUCKET_KEY' });
    await putBucket(store, 'b2', NOW - DAY, NOW + 10 * DAY);
    expect(await capture.sealPending()).toBe(1);
    await capture.capture(body(1));
    expect(queuedChain(store).map((h) => h.bucket)).toEqual(['b2', 'b2']);
    expect(disposedBucketIds(store)).toEqual(new Set(['b1']));
    capture.close();
    store.close();
  });
});
