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
  acknowledgedAt: Date.UTC(2030, 0, 15),
});

/** A version-1 row as an older client wrote it: record 5, bucket `b`, log index 2^40, no time. */
const VERSION_1_ROW =
  '0100000000000000050000000100010001621111111111111111111111111111111111111111111111111111111111111111' +
  '0000038400000100000000000000';

describe('archive-uploads rows', () => {
  it('round-trip in binary, and JSON rows of earlier versions still decode', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 2 ** 50 }), (n, first) => {
        const u = batch(n, first);
        expect(decodeUploadedBatch(encodeUploadedBatch(u))).toEqual(u);
      }),
      { numRuns: 50 },
    );
    const { acknowledgedAt: _, ...untimed } = batch(3);
    expect(decodeUploadedBatch(encodeJson(untimed))).toEqual(untimed);
  });

  it('keep when the batch was acknowledged; rows of older clients (version 1, no time) still decode, and are written again as such', () => {
    const u = batch(2);
    const row = encodeUploadedBatch(u);
    expect(row[0]).toBe(2);
    expect(decodeUploadedBatch(row).acknowledgedAt).toBe(Date.UTC(2030, 0, 15));
    const older = Buffer.from(VERSION_1_ROW, 'hex');
    const decoded = decodeUploadedBatch(older);
    expect(decoded).toEqual({
      firstSeq: 5,
      hashes: [new Uint8Array(32).fill(0x11)],
      sizes: [900],
      buckets: ['b'],
      logIndexes: [2 ** 40],
    });
    expect(Buffer.from(encodeUploadedBatch(decoded)).toString('hex')).toBe(VERSION_1_ROW);
    // Stamped by a proof pass: the same row, version 2, 8 bytes longer.
    const stamped = encodeUploadedBatch({ ...decoded, acknowledgedAt: 7 });
    expect(stamped.length).toBe(older.length + 8);
    expect(decodeUploadedBatch(stamped)).toEqual({ ...decoded, acknowledgedAt: 7 });
  });

  it('refuses a truncated or extended row, or an unknown version', () => {
    const row = Buffer.from(encodeUploadedBatch(batch(4)));
    const older = Buffer.from(VERSION_1_ROW, 'hex');
    for (const bad of [
      row.subarray(0, row.length - 1),
      Buffer.concat([row, Buffer.from([0])]),
      row.subarray(0, 10),
      row.subarray(0, 16),
      older.subarray(0, older.length - 1),
      Buffer.concat([Buffer.from([3]), row.subarray(1)]),
      // A version-1 row labelled version 2: its fields are off by the missing time.
      Buffer.concat([Buffer.from([2]), older.subarray(1)]),
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
