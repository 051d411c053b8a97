import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ByteSlab, RECORD_SLAB_BYTES, RecordSlab, SLAB_BYTES } from './byte-slab.js';

describe('ByteSlab', () => {
  it('hands out views that never overlap, across slab boundaries', () => {
    const slab = new ByteSlab();
    const views: Uint8Array[] = [];
    for (let i = 0; i < 600; i++) {
      const v = slab.take(1 + (i % 97));
      v.fill(i & 0xff);
      views.push(v);
    }
    views.forEach((v, i) => expect(v.every((b) => b === (i & 0xff))).toBe(true));
    expect(new Set(views.map((v) => v.buffer)).size).toBeGreaterThan(1);
  });

  it('gives large requests their own buffer, and copies ranges exactly (short and long)', () => {
    const slab = new ByteSlab();
    const big = slab.take(SLAB_BYTES);
    expect(big.byteLength).toBe(SLAB_BYTES);
    expect(big.buffer.byteLength).toBe(SLAB_BYTES);
    const src = Buffer.concat([Buffer.alloc(3), randomBytes(300)]);
    for (const [start, end] of [
      [3, 35],
      [3, 303],
      [0, 0],
      [10, 11],
    ] as const) {
      const c = slab.copyOf(src, start, end);
      expect(Buffer.from(c).equals(src.subarray(start, end))).toBe(true);
      src[start] = (src[start]! + 1) & 0xff; // the copy does not alias the source
      if (end > start) expect(c[0]).not.toBe(src[start]);
    }
  });
});

describe('RecordSlab', () => {
  it('hands out Buffers that never overlap, across slab boundaries, and large ones apart', () => {
    const slab = new RecordSlab();
    const bufs: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const b = slab.take(1300 + (i % 131));
      expect(Buffer.isBuffer(b)).toBe(true);
      b.fill(i & 0xff);
      bufs.push(b);
    }
    bufs.forEach((b, i) => expect(b.every((x) => x === (i & 0xff))).toBe(true));
    expect(new Set(bufs.map((b) => b.buffer)).size).toBeGreaterThan(1);
    const big = slab.take(RECORD_SLAB_BYTES);
    expect(big.length).toBe(RECORD_SLAB_BYTES);
    expect(big.buffer).not.toBe(bufs.at(-1)!.buffer);
  });
});
