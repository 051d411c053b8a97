/**
 * A server's BUCKET_DISPOSED refusal is a claim the device checks before it changes anything
 * (disposed-buckets.ts checkDisposalClaim): the bucket must be one the refused batch is
 * sealed to, and the device's own verified document of it must show its window and the
 * late-upload grace over. Believed as it stood, a server naming the current bucket made the
 * device forget that bucket's key for good (nothing could be sealed: CAPTURE_REQUIRED) and
 * declare its queued records lost.
 */
import { BUCKET_LATE_UPLOAD_GRACE_MS } from '@custos/core';
import { PrivateKey } from '@signalapp/libsignal-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../transport/api-client.js';
import {
  DAY_MS as DAY,
  TEST_NOW as NOW,
  putTestBucket as putBucket,
  TempStores,
  testBody as body,
  testProfile as profile,
} from './archive-test-support.js';
import { ArchiveCapture } from './capture.js';
import { checkDisposalClaim, disposedBuckets } from './disposed-buckets.js';
import { ArchiveUploader, uploadedThrough } from './uploader.js';

const PLAN = 'ab'.repeat(32);
const stores = new TempStores();
afterEach(() => stores.removeAll());

/** A server that refuses every batch, saying `bucketId` was disposed of. */
function lyingServer(bucketId: string): { api: ApiClient; batches: () => number } {
  let batches = 0;
  const f = (url: string) => {
    if (new URL(url).pathname !== '/v1/archive/batches') throw new Error(`unexpected request ${url}`);
    batches++;
    const error = {
      code: 'BUCKET_DISPOSED',
      message: 'disposed',
      details: { bucketId, planId: PLAN, disposedAt: NOW },
    };
    return Promise.resolve(
      new Response(JSON.stringify({ error }), {
        status: 409,
        headers: { 'content-type': 'application/json' },
      }),
    );
  };
  return { api: new ApiClient('http://127.0.0.1:1', { fetch: f }), batches: () => batches };
}

describe('a server saying a bucket was disposed of', () => {
  it('is not believed for the current bucket, nor for a bucket the batch is not sealed to: nothing changes', async () => {
    for (const named of ['now', 'old']) {
      const store = stores.open('custos-disposal-claims-');
      await putBucket(store, 'now', NOW - DAY, NOW + 10 * DAY);
      // An old bucket, past its window and the grace: a credible name, but no record is sealed to it.
      await putBucket(store, 'old', NOW - 60 * DAY, NOW - 30 * DAY);
      const capture = new ArchiveCapture(store, profile, () => NOW);
      for (let i = 0; i < 3; i++) await capture.capture(body(i));
      const { api, batches } = lyingServer(named);
      const uploader = new ArchiveUploader(store, api, profile, PrivateKey.generate(), { clock: () => NOW });
      await expect(uploader.uploadAll(3)).rejects.toMatchObject({
        code: 'ARCHIVE_UPLOAD_FAILED',
        message: expect.stringContaining(`bucket ${named} was disposed of under plan ${PLAN}, but`),
      });
      // One refused batch, no retry; no bucket noted or forgotten; nothing declared or moved.
      expect(batches()).toBe(1);
      expect(disposedBuckets(store)).toEqual([]);
      expect(store.getJson('buckets', 'now')).toBeDefined();
      expect(store.getJson('buckets', 'old')).toBeDefined();
      expect(uploadedThrough(store)).toBe(-1);
      // Capture still seals to the current bucket.
      await capture.capture(body(3));
      capture.close();
      store.close();
    }
  });

  it('is believed only once the bucket named has passed its window and the late-upload grace', async () => {
    const store = stores.open('custos-disposal-claims-');
    await putBucket(store, 'b', NOW - 40 * DAY, NOW - 10 * DAY);
    const d = { bucketId: 'b', planId: PLAN, disposedAt: NOW };
    const end = NOW - 10 * DAY + BUCKET_LATE_UPLOAD_GRACE_MS;
    expect(() => checkDisposalClaim(store, d, new Set(['b']), end)).toThrow(/takes records until/);
    expect(() => checkDisposalClaim(store, d, new Set(['b']), end + 1)).not.toThrow();
    expect(() => checkDisposalClaim(store, d, new Set(['c']), end + 1)).toThrow(
      /no record of the refused batch is sealed to it/,
    );
    expect(() => checkDisposalClaim(store, { ...d, bucketId: 'c' }, new Set(['c']), end + 1)).toThrow(
      /holds no verified document of that bucket/,
    );
    store.close();
  });
});
