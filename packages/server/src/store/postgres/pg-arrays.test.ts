/**
 * Binary array parameters: the byte layout of array_recv, and (with a test database) that
 * PostgreSQL reads them back as the same values, including empty and unusual elements.
 */
import { describe, expect, it } from 'vitest';
import { PG_SKIP_REASON, TEST_PG_URL_ENV } from '../../testing/test-stores.js';
import { sql } from '../sql.js';
import { pgByteaArray, pgInt8Array, pgTextArray } from './pg-arrays.js';
import { openPgDatabase } from './pg-database.js';

describe('pg binary arrays', () => {
  it('lays out a one-dimensional array: header, then length-prefixed elements', () => {
    expect(pgByteaArray([Buffer.of(0xaa), Buffer.alloc(0)]).toString('hex')).toBe(
      '00000001' + '00000000' + '00000011' + '00000002' + '00000001' + '00000001aa' + '00000000',
    );
    expect(pgInt8Array([-1]).toString('hex')).toBe(
      '00000001' + '00000000' + '00000014' + '00000001' + '00000001' + '00000008' + 'ffffffffffffffff',
    );
    expect(pgTextArray([]).toString('hex')).toBe('00000000' + '00000000' + '00000019');
  });

  it('refuses an int8 element that is not a safe integer', () => {
    expect(() => pgInt8Array([2 ** 53])).toThrow(RangeError);
    expect(() => pgInt8Array([0.5])).toThrow(RangeError);
  });
});

describe.skipIf(PG_SKIP_REASON !== null)('pg binary arrays: postgres', () => {
  it('PostgreSQL reads back exactly the values sent', async () => {
    const db = openPgDatabase(process.env[TEST_PG_URL_ENV] ?? '');
    try {
      const blobs = [Buffer.alloc(0), Buffer.of(0, 0x5c, 0xff), Buffer.alloc(3000, 7)];
      const texts = ['', 'dev-ä→', "it's"];
      const ints = [0, -(2 ** 53 - 1), 2 ** 53 - 1];
      const rows = await db.all<{ b: Buffer; t: string; i: number; o: number }>(
        sql`SELECT u.b, u.t, u.i, u.o::int AS o FROM unnest(${pgByteaArray(blobs)}::bytea[],
          ${pgTextArray(texts)}::text[], ${pgInt8Array(ints)}::int8[]) WITH ORDINALITY AS u(b, t, i, o)
          ORDER BY o`,
      );
      expect(rows.map((r) => r.b)).toEqual(blobs);
      expect(rows.map((r) => r.t)).toEqual(texts);
      expect(rows.map((r) => r.i)).toEqual(ints);
      const empty = await db.get<{ n: number }>(sql`SELECT cardinality(${pgByteaArray([])}::bytea[]) AS n`);
      expect(empty?.n).toBe(0);
    } finally {
      await db.close();
    }
  });
});
