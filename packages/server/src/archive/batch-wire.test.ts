/** The binary batch layout: round trip, and each malformation refused with INVALID_REQUEST. */
import { describe, expect, it } from 'vitest';
import { isServerError } from '../errors.js';
import { MAX_RECORDS_PER_UPLOAD } from './archive-defaults.js';
import { decodeBatchUpload, encodeBatchUpload } from './batch-wire.js';

const upload = {
  signature: new Uint8Array(64).fill(9),
  sessionKeys: [new Uint8Array([1, 2, 3])],
  records: [new Uint8Array([4, 5]), new Uint8Array([6])],
};

const refuses = (bytes: Uint8Array, why: RegExp): void => {
  let err: unknown;
  try {
    decodeBatchUpload(bytes);
  } catch (e) {
    err = e;
  }
  expect(isServerError(err, 'INVALID_REQUEST')).toBe(true);
  expect((err as Error).message).toMatch(why);
};

describe('batch wire layout', () => {
  it('round-trips, with the exact documented bytes', () => {
    const bin = encodeBatchUpload(upload);
    expect(bin.toString('hex')).toBe(
      '01' + '09'.repeat(64) + '01' + '00000003010203' + '0002' + '000000020405' + '0000000106',
    );
    const back = decodeBatchUpload(bin);
    expect(back.signature).toEqual(Buffer.from(upload.signature));
    expect(back.sessionKeys.map((k) => [...k])).toEqual([[1, 2, 3]]);
    expect(back.records.map((r) => [...r])).toEqual([[4, 5], [6]]);
  });

  it('refuses truncation, trailing bytes, a wrong version, empty or oversized counts and zero lengths', () => {
    const bin = encodeBatchUpload(upload);
    for (let n = 0; n < bin.length; n++) refuses(bin.subarray(0, n), /truncated/);
    refuses(Buffer.concat([bin, Buffer.of(0)]), /follow the last record/);
    refuses(Buffer.concat([Buffer.of(2), bin.subarray(1)]), /version/);
    refuses(encodeBatchUpload({ ...upload, records: [] }), /record count 0/);
    const many = encodeBatchUpload(upload);
    many.writeUInt16BE(MAX_RECORDS_PER_UPLOAD + 1, 1 + 64 + 1 + 7);
    refuses(many, /record count/);
    refuses(encodeBatchUpload({ ...upload, records: [new Uint8Array(0)] }), /records\[0\]: length 0/);
    const keys = Buffer.from(bin);
    keys[65] = 17;
    refuses(keys, /session keys/);
  });
});
