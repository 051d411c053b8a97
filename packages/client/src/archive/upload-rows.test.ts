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
      fc.property(
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 0, max: 2 ** 50 }),
        fc.option(fc.integer({ min: 0, max: 2 ** 50 }), { nil: undefined }),
        (n, first, lastMissingAt) => {
          const u = lastMissingAt === undefined ? batch(n, first) : { ...batch(n, first), lastMissingAt };
          expect(decodeUploadedBatch(encodeUploadedBatch(u))).toEqual(u);
        },
      ),
      { numRuns: 50 },
    );
    const { acknowledgedAt: _, ...untimed } = batch(3);
    expect(decodeUploadedBatch(encodeJson(untimed))).toEqual(untimed);
  });

  it('keep when the batch was acknowledged and when a round last found it missing; rows of older clients (version 1, no time) still decode, and are written again as such', () => {
    const u = batch(2);
    const row = encodeUploadedBatch(u);
    expect(row[0]).toBe(2);
    expect(decodeUploadedBatch(row).acknowledgedAt).toBe(Date.UTC(2030, 0, 15));
    expect(decodeUploadedBatch(row)).not.toHaveProperty('lastMissingAt');
    // Found missing at time 0 is told apart from never found missing.
    expect(decodeUploadedBatch(encodeUploadedBatch({ ...u, lastMissingAt: 0 })).lastMissingAt).toBe(0);
    // Never found missing without an acknowledgement time (a round sets both).
    const { acknowledgedAt: _, ...untimed } = u;
    expect(() => encodeUploadedBatch({ ...untimed, lastMissingAt: 1 })).toThrow();
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
    // Stamped by a proof pass that found it missing: the same row, version 2, with both times.
    const stamped = encodeUploadedBatch({ ...decoded, acknowledgedAt: 7, lastMissingAt: 7 });
    expect(Buffer.from(stamped).toString('hex')).toBe(
      '02' +
        VERSION_1_ROW.slice(2, 26) +
        '0000000000000007' +
        '01' +
        '0000000000000007' +
        VERSION_1_ROW.slice(26),
    );
    expect(decodeUploadedBatch(stamped)).toEqual({ ...decoded, acknowledgedAt: 7, lastMissingAt: 7 });
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
      // A version-1 row labelled version 2: its fields are off by the missing times.
      Buffer.concat([Buffer.from([2]), older.subarray(1)]),
      // Not found missing, yet a time; or a flag that is neither 0 nor 1.
      Buffer.concat([row.subarray(0, 29), Buffer.from([1]), row.subarray(30)]),
      Buffer.concat([row.subarray(0, 21), Buffer.from([2]), row.subarray(22)]),
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
