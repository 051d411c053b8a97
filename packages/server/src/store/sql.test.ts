/**
 * Query composition (concatSql) and IN lists: values are de-duplicated (Buffers by content),
 * split into lists of the few IN_LIST_SIZES lengths (padding repeats the last value), rendered with one placeholder per
 * value, and `allIn` returns each matching row once however many values and duplicates.
 */
import { describe, expect, it } from 'vitest';
import { openSqliteDatabase } from './sqlite/sqlite-database.js';
import {
  allIn,
  concatSql,
  IN_LIST_SIZES,
  inList,
  inListChunks,
  renderNumbered,
  renderQuestionMarks,
  sql,
} from './sql.js';

describe('concatSql', () => {
  it('joins texts at the seam and keeps the values in order', () => {
    const q = concatSql(
      sql`WITH s AS (SELECT ${1} AS a, ${'x'} AS b)`,
      sql`, t AS (SELECT ${2}) SELECT a FROM s`,
    );
    expect(renderNumbered(q)).toBe('WITH s AS (SELECT $1 AS a, $2 AS b), t AS (SELECT $3) SELECT a FROM s');
    expect(q.values).toEqual([1, 'x', 2]);
  });
});

describe('rendered text', () => {
  it("keeps a template's text and an IN list's shape, and renders an array built by hand afresh", () => {
    const query = (org: string, list: number[]) =>
      inList(sql`SELECT a FROM t WHERE o = ${org} AND a IN`, list);
    const a = query('o1', [1, 2]);
    const b = query('o2', [3, 4]);
    // One shape per template, list length and tail: the same frozen fragments, the same text object.
    expect(b.fragments).toBe(a.fragments);
    expect(Object.isFrozen(a.fragments)).toBe(true);
    expect(renderQuestionMarks(b)).toBe(renderQuestionMarks(a));
    expect(b.values).toEqual(['o2', 3, 4]);
    expect(renderNumbered(query('o3', [5, 6, 7]))).toBe('SELECT a FROM t WHERE o = $1 AND a IN ($2, $3, $4)');
    // A caller's own (unfrozen) array may change between renders: never served from the cache.
    const fragments = ['SELECT ', ''];
    const built = { fragments, values: [1] };
    expect(renderQuestionMarks(built)).toBe('SELECT ?');
    fragments[1] = ' + 1';
    expect(renderQuestionMarks(built)).toBe('SELECT ? + 1');
  });
});

describe('IN lists', () => {
  it('renders one bound placeholder per value after the query, then the tail', () => {
    const q = inList(sql`SELECT a FROM t WHERE o = ${'org'} AND a IN`, [1, 2, 3], ' ORDER BY a');
    expect(renderQuestionMarks(q)).toBe('SELECT a FROM t WHERE o = ? AND a IN (?, ?, ?) ORDER BY a');
    expect(renderNumbered(q)).toBe('SELECT a FROM t WHERE o = $1 AND a IN ($2, $3, $4) ORDER BY a');
    expect(q.values).toEqual(['org', 1, 2, 3]);
    expect(() => inList(sql`SELECT 1 WHERE 1 IN`, [])).toThrow(/at least one value/);
  });

  it('splits into padded lists of the fixed lengths, without duplicates', () => {
    for (const n of [0, 1, 2, 5, 16, 17, 255, 256, 257, 300, 1000]) {
      const values = Array.from({ length: n }, (_, i) => i);
      const chunks = inListChunks([...values, ...values]);
      for (const c of chunks) expect(IN_LIST_SIZES).toContain(c.length);
      expect(new Set(chunks.flat())).toEqual(new Set(values));
      // Padding only ever repeats the last value of a list.
      const flat = chunks.flatMap((c) => c.filter((v, i) => i === 0 || v !== c[i - 1]));
      expect(flat).toEqual(values);
      expect(chunks).toHaveLength(Math.ceil(n / 256));
    }
    const a = Buffer.from('aa', 'hex');
    expect(inListChunks([a, Buffer.from('aa', 'hex'), Buffer.from('bb', 'hex'), 'aa'])).toEqual([
      [a, Buffer.from('bb', 'hex'), 'aa', 'aa'],
    ]);
  });

  it('allIn returns each matching row once over many values and duplicates', async () => {
    const db = openSqliteDatabase(':memory:');
    try {
      await db.exec('CREATE TABLE t (o TEXT NOT NULL, a INTEGER NOT NULL, PRIMARY KEY (o, a))');
      for (let a = 0; a < 700; a++)
        await db.run(sql`INSERT INTO t (o, a) VALUES (${a % 2 ? 'x' : 'y'}, ${a})`);
      const wanted = Array.from({ length: 650 }, (_, i) => i + 20);
      const rows = await allIn<{ a: number }>(db, sql`SELECT a FROM t WHERE o = ${'x'} AND a IN`, [
        ...wanted,
        ...wanted.slice(0, 100),
        10_000,
      ]);
      expect(rows.map((r) => r.a).sort((p, q) => p - q)).toEqual(wanted.filter((a) => a % 2 === 1));
      expect(await allIn(db, sql`SELECT a FROM t WHERE a IN`, [])).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
