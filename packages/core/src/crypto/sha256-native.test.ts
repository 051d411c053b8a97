import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256NativeInto } from './sha256-native.js';

const sha256Native = (m: Uint8Array): Uint8Array => {
  const out = new Uint8Array(32);
  sha256NativeInto(m, out, 0);
  return out;
};

describe('sha256NativeInto', () => {
  it('equals createHash for the FIPS 180-4 example and random lengths, every byte value included', () => {
    expect(Buffer.from(sha256Native(Buffer.from('abc'))).toString('hex')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    for (const n of [0, 1, 55, 56, 64, 1024, 1340, 5000]) {
      const m = randomBytes(n);
      expect(Buffer.from(sha256Native(m)).equals(createHash('sha256').update(m).digest())).toBe(true);
    }
    // Digests with every byte value 0..255 somewhere (latin1 must round-trip all of them).
    const seen = new Set<number>();
    for (let i = 0; seen.size < 256 && i < 10_000; i++) {
      const m = randomBytes(40);
      const d = sha256Native(m);
      expect(Buffer.from(d).equals(createHash('sha256').update(m).digest())).toBe(true);
      d.forEach((b) => seen.add(b));
    }
    expect(seen.size).toBe(256);
  });

  it('writes into a buffer at an offset without touching its neighbours', () => {
    const out = new Uint8Array(40).fill(7);
    sha256NativeInto(Buffer.from('abc'), out, 4);
    expect(out[3]).toBe(7);
    expect(out[36]).toBe(7);
    expect(Buffer.from(out.subarray(4, 36)).toString('hex')).toMatch(/^ba7816bf/);
  });
});
