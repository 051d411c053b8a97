import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isClientError } from '../errors.js';
import { encodeJson } from '../store/json-codec.js';
import { decodeUploadedBatch, encodeUploadedBatch, type UploadedBatch } from './upload-rows.js';

const batch = (n: number, firstSeq = 5): UploadedBatch => ({
  firstSeq,
  hashes: Array.from({ length: n }, () => new Uint8Array(randomBytes(32))),
  sizes: Array.from({ length: n }, (_, i) => 900 + i),
  buckets: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'standard-2030-01' : 'standard-2030-02')),
  logIndexes: Array.from({ length: n }, (_, i) => 2 ** 40 + i),
});

describe('archive-uploads rows', () => {
  it('round-trip in binary, and JSON rows of earlier versions still decode', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 2 ** 50 }), (n, first) => {
        const u = batch(n, first);
        expect(decodeUploadedBatch(encodeUploadedBatch(u))).toEqual(u);
      }),
      { numRuns: 50 },
    );
    const u = batch(3);
    expect(decodeUploadedBatch(encodeJson(u))).toEqual(u);
  });

  it('refuses a truncated or extended row', () => {
    const row = Buffer.from(encodeUploadedBatch(batch(4)));
    for (const bad of [
      row.subarray(0, row.length - 1),
      Buffer.concat([row, Buffer.from([0])]),
      row.subarray(0, 10),
    ]) {
      let code: unknown;
      try {
        decodeUploadedBatch(bad);
      } catch (e) {
        code = isClientError(e) ? e.code : e;
      }
      expect(code).toBe('STORE_CORRUPT');
    }
  });
});
