import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  JS_SHA256_MAX_MESSAGE,
  sha256Compress,
  sha256Finish,
  sha256Init,
  sha256Into,
  sha256NodeInto,
  sha256PrefixedInto,
  sha256WriteDigest,
} from './sha256.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const ref = (...parts: Uint8Array[]): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
};
const digest = (msg: Uint8Array): string => {
  const out = new Uint8Array(32);
  sha256Into(msg, out, 0);
  return hex(out);
};

// FIPS 180-4 example messages (NIST CSRC "Examples with Intermediate Values", SHA-256), plus
// the empty message and the one-million-'a' test from FIPS 180-2 Appendix B.3.
const NIST: readonly { name: string; msg: () => Uint8Array; digest: string }[] = [
  {
    name: 'the empty message',
    msg: () => new Uint8Array(0),
    digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  },
  {
    name: '"abc" (one block)',
    msg: () => ascii('abc'),
    digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  },
  {
    name: 'the 448-bit message (two blocks: the length spills over)',
    msg: () => ascii('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    digest: '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  },
  {
    name: 'the 896-bit message',
    msg: () =>
      ascii(
        'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno' +
          'ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      ),
    digest: 'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
  },
  {
    name: 'one million repetitions of "a"',
    msg: () => new Uint8Array(1_000_000).fill(0x61),
    digest: 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
  },
];

describe('sha256Into (FIPS 180-4 vectors)', () => {
  for (const v of NIST) {
    it(`hashes ${v.name}`, () => {
      expect(digest(v.msg())).toBe(v.digest);
    });
  }
});

describe('sha256Into against node:crypto', () => {
  it('agrees for every message length 0..1,300 (every padding position, up to 21 blocks)', () => {
    const data = randomBytes(1300);
    for (let n = 0; n <= data.length; n++) {
      const m = data.subarray(0, n);
      expect(digest(m), `length ${n}`).toBe(ref(m));
    }
  });

  it('agrees on random inputs (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (m) => {
        expect(digest(m)).toBe(ref(m));
      }),
      { numRuns: 300 },
    );
  });

  it('agrees on all-0x00 and all-0xff messages (sign bits of every word set or clear)', () => {
    for (const n of [55, 56, 64, 119, 120, 128]) {
      for (const fill of [0x00, 0xff]) {
        const m = new Uint8Array(n).fill(fill);
        expect(digest(m), `${n} × ${fill}`).toBe(ref(m));
      }
    }
  });

  it('writes at an offset and leaves the bytes around the digest alone', () => {
    const out = new Uint8Array(40).fill(0xee);
    sha256Into(ascii('abc'), out, 4);
    expect(hex(out.subarray(4, 36))).toBe(ref(ascii('abc')));
    expect([...out.subarray(0, 4), ...out.subarray(36)]).toEqual(new Array(8).fill(0xee));
  });
});

describe('sha256Compress, sha256Finish and sha256WriteDigest', () => {
  it('one compression of a hand-padded block equals SHA-256 of a message of 0..55 bytes', () => {
    for (let len = 0; len <= 55; len++) {
      const msg = randomBytes(len);
      const block = Buffer.alloc(64);
      msg.copy(block);
      block[len] = 0x80;
      block.writeUInt32BE(len * 8, 60);
      const words = Int32Array.from({ length: 16 }, (_, i) => block.readInt32BE(4 * i));
      const st = new Int32Array(8);
      sha256Init(st);
      sha256Compress(st, words);
      const out = Buffer.alloc(32);
      st.forEach((w, i) => out.writeInt32BE(w, 4 * i));
      expect(hex(out), `length ${len}`).toBe(ref(msg));
    }
  });

  it('finishes from a midstate: blocks absorbed first count toward the length', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(20),
        (blocks, tail, off) => {
          const head = randomBytes(64 * blocks);
          const st = new Int32Array(8);
          const w = new Int32Array(16);
          sha256Init(st);
          for (let b = 0; b < blocks; b++) {
            const words = Int32Array.from({ length: 16 }, (_, i) => head.readInt32BE(64 * b + 4 * i));
            sha256Compress(st, words);
          }
          // The tail sits at an offset inside a larger buffer, as callers pass it.
          const buf = new Uint8Array(off + tail.length + 7).fill(0xa5);
          buf.set(tail, off);
          sha256Finish(st, w, head.length, buf, off, tail.length);
          const out = new Uint8Array(32);
          sha256WriteDigest(st, out, 0, 32);
          expect(hex(out)).toBe(ref(head, tail));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes a truncated digest of exactly the requested length', () => {
    const st = new Int32Array(8);
    sha256Init(st);
    sha256Finish(st, new Int32Array(16), 0, ascii('abc'), 0, 3);
    for (const len of [1, 5, 16, 31]) {
      const out = new Uint8Array(33).fill(0xee);
      sha256WriteDigest(st, out, 1, len);
      expect(hex(out.subarray(1, 1 + len))).toBe(NIST[1]!.digest.slice(0, 2 * len));
      expect(out[0]).toBe(0xee);
      expect(out[1 + len]).toBe(0xee);
    }
  });
});

describe('short-message helpers against node:crypto', () => {
  it('sha256PrefixedInto equals SHA-256(prefix || data) for every length across the native hand-off', () => {
    const data = randomBytes(JS_SHA256_MAX_MESSAGE + 100);
    const out = new Uint8Array(34);
    for (let n = 0; n <= data.length; n++) {
      const d = data.subarray(0, n);
      const prefix = n & 0xff;
      sha256PrefixedInto(prefix, d, out, 2);
      expect(hex(out.subarray(2)), `length ${n}`).toBe(ref(Uint8Array.of(prefix), d));
    }
  });

  it('sha256NodeInto equals SHA-256(0x01 || left || right) at any offsets (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 64 }),
        fc.uint8Array({ minLength: 32, maxLength: 64 }),
        fc.nat(8),
        (l, r, outOff) => {
          const lo = l.length - 32;
          const ro = r.length - 32;
          const out = new Uint8Array(outOff + 32);
          sha256NodeInto(l, lo, r, ro, out, outOff);
          expect(hex(out.subarray(outOff))).toBe(ref(Uint8Array.of(1), l.subarray(lo), r.subarray(ro)));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('sha256NodeInto may write over either child', () => {
    const l = randomBytes(32);
    const r = randomBytes(32);
    const want = ref(Uint8Array.of(1), l, r);
    const buf = new Uint8Array(64);
    buf.set(l, 0);
    buf.set(r, 32);
    sha256NodeInto(buf, 0, buf, 32, buf, 0);
    expect(hex(buf.subarray(0, 32))).toBe(want);
    buf.set(l, 0);
    buf.set(r, 32);
    sha256NodeInto(buf, 0, buf, 32, buf, 32);
    expect(hex(buf.subarray(32))).toBe(want);
  });

  it('a one-bit change in either child changes the node hash (tamper)', () => {
    const l = randomBytes(32);
    const r = randomBytes(32);
    const base = new Uint8Array(32);
    sha256NodeInto(l, 0, r, 0, base, 0);
    for (const [which, i] of [
      ['l', 0],
      ['l', 31],
      ['r', 0],
      ['r', 31],
    ] as const) {
      const t = Uint8Array.from(which === 'l' ? l : r);
      t[i]! ^= 1;
      const out = new Uint8Array(32);
      if (which === 'l') sha256NodeInto(t, 0, r, 0, out, 0);
      else sha256NodeInto(l, 0, t, 0, out, 0);
      expect(hex(out)).not.toBe(hex(base));
    }
  });
});
