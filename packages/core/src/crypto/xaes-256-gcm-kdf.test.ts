/**
 * XAES-256-GCM subkey derivation against the C2SP specification's vectors
 * (https://c2sp.org/XAES-256-GCM, "Test vectors", copied from C2SP/C2SP XAES-256-GCM.md
 * at commit 03ab74455beb3a6d6e0fb7dd1de5a932e2257cd0; the C2SP specifications are CC BY 4.0),
 * its accumulated randomised test (10,000 iterations), and the plain reference
 * implementation in xaes-256-gcm-reference.test-data.ts; plus batch = one at a time, and
 * typed errors.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { XAES_NONCE_LENGTH, XaesKeyDeriver } from './xaes-256-gcm-kdf.js';
import { xaesSealReference, xaesSubkeyReference } from './xaes-256-gcm-reference.test-data.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Buffer => Buffer.from(s, 'ascii');

/** C2SP XAES-256-GCM "Test vectors": MSB₁(L) = 0, then MSB₁(L) = 1. */
const C2SP = [
  {
    k: '0101010101010101010101010101010101010101010101010101010101010101',
    n: 'ABCDEFGHIJKLMNOPQRSTUVWX',
    l: '7298caa565031eadc6ce23d23ea66378',
    k1: 'e531954aca063d5b8d9c47a47d4cc6f0',
    m1: '000158004142434445464748494a4b4c',
    m2: '000258004142434445464748494a4b4c',
    kx: 'c8612c9ed53fe43e8e005b828a1631a0bbcb6ab2f46514ec4f439fcfd0fa969b',
    nx: '4d4e4f505152535455565758',
    plaintext: 'XAES-256-GCM',
    aad: '',
    ciphertext: 'ce546ef63c9cc60765923609b33a9a1974e96e52daf2fcf7075e2271',
  },
  {
    k: '0303030303030303030303030303030303030303030303030303030303030303',
    n: 'ABCDEFGHIJKLMNOPQRSTUVWX',
    l: '91c08762876dccf9ba204a33768fa5fe',
    k1: '23810ec50edb99f374409466ed1f4b7b',
    m1: '000158004142434445464748494a4b4c',
    m2: '000258004142434445464748494a4b4c',
    kx: 'e9c621d4cdd9b11b00a6427ad7e559aeedd66b3857646677748f8ca796cb3fd8',
    nx: '4d4e4f505152535455565758',
    plaintext: 'XAES-256-GCM',
    aad: 'c2sp.org/XAES-256-GCM',
    ciphertext: '986ec1832593df5443a179437fd083bf3fdb41abd740a21f71eb769d',
  },
];

/** XAES-256-GCM seal with the production derivation: AES-256-GCM(Kx, Nx), ct || tag. */
function xaesSeal(key: Uint8Array, nonce: Uint8Array, pt: Uint8Array, aad: Uint8Array): Buffer {
  const d = new XaesKeyDeriver(key);
  const kx = d.deriveOne(nonce, 0);
  d.destroy();
  const c = createCipheriv('aes-256-gcm', kx, nonce.subarray(12, 24));
  c.setAAD(aad);
  return Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
}

function xaesOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  const d = new XaesKeyDeriver(key);
  const kx = d.deriveOne(nonce, 0);
  d.destroy();
  const c = createDecipheriv('aes-256-gcm', kx, nonce.subarray(12, 24), { authTagLength: 16 });
  c.setAuthTag(sealed.subarray(sealed.length - 16));
  c.setAAD(aad);
  return Buffer.concat([c.update(sealed.subarray(0, sealed.length - 16)), c.final()]);
}

describe('XAES-256-GCM key derivation against the C2SP vectors', () => {
  for (const [i, v] of C2SP.entries()) {
    it(`vector ${i + 1}: L, K1, M1, M2, Kx, Nx and the ciphertext`, () => {
      const key = Buffer.from(v.k, 'hex');
      const nonce = ascii(v.n);
      const ref = xaesSubkeyReference(key, nonce);
      expect([hex(ref.l), hex(ref.k1), hex(ref.m1), hex(ref.m2), hex(ref.nx)]).toEqual([
        v.l,
        v.k1,
        v.m1,
        v.m2,
        v.nx,
      ]);
      expect(hex(XaesKeyDeriver.cmacSubkey1(ref.l))).toBe(v.k1);
      const d = new XaesKeyDeriver(key);
      expect(hex(d.deriveOne(nonce, 0))).toBe(v.kx);
      const out = new Uint8Array(3 * 32);
      d.deriveManyInto(Buffer.concat([randomBytes(24), nonce, nonce]), 0, 3, out, 0);
      expect([hex(out.subarray(32, 64)), hex(out.subarray(64))]).toEqual([v.kx, v.kx]);
      expect(hex(xaesSeal(key, nonce, ascii(v.plaintext), ascii(v.aad)))).toBe(v.ciphertext);
      expect(xaesOpen(key, nonce, Buffer.from(v.ciphertext, 'hex'), ascii(v.aad)).toString('ascii')).toBe(
        v.plaintext,
      );
    });
  }

  it('reproduces the accumulated randomised test (10,000 iterations, SHAKE-128 streams)', () => {
    const iterations = 10_000;
    // At most 32 + 24 + 1 + 255 + 1 + 255 bytes are read per iteration.
    const stream = createHash('shake128', { outputLength: iterations * 568 })
      .update(new Uint8Array(0))
      .digest();
    expect(hex(stream.subarray(0, 16))).toBe('7f9c2ba4e88f827d616045507605853e');
    let at = 0;
    const read = (n: number): Buffer => stream.subarray(at, (at += n));
    const out = createHash('shake128', { outputLength: 32 });
    for (let i = 0; i < iterations; i++) {
      const key = read(32);
      const nonce = read(24);
      const pt = read(read(1)[0]!);
      const aad = read(read(1)[0]!);
      const sealed = xaesSeal(key, nonce, pt, aad);
      out.update(sealed);
      if (i % 1000 === 0) expect(xaesOpen(key, nonce, sealed, aad).equals(pt)).toBe(true);
    }
    expect(out.digest('hex')).toBe('e6b9edf2df6cec60c8cbd864e2211b597fb69a529160cd040d56c0c210081939');
  });
});

describe('XaesKeyDeriver', () => {
  it('agrees with the block-by-block reference, one at a time and in batches of any size', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(fc.uint8Array({ minLength: 24, maxLength: 24 }), { minLength: 1, maxLength: 20 }),
        (key, nonces) => {
          const d = new XaesKeyDeriver(key);
          const all = Buffer.concat(nonces);
          const batch = new Uint8Array(32 * nonces.length + 5);
          d.deriveManyInto(all, 0, nonces.length, batch, 5);
          nonces.forEach((n, i) => {
            const want = hex(xaesSubkeyReference(key, n).kx);
            expect(hex(d.deriveOne(all, 24 * i))).toBe(want);
            expect(hex(batch.subarray(5 + 32 * i, 5 + 32 * (i + 1)))).toBe(want);
          });
          d.destroy();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('derives from exactly the first 12 nonce bytes', () => {
    const d = new XaesKeyDeriver(randomBytes(32));
    const nonce = randomBytes(XAES_NONCE_LENGTH);
    const base = hex(d.deriveOne(nonce, 0));
    for (let i = 0; i < XAES_NONCE_LENGTH; i++) {
      const t = Buffer.from(nonce);
      t[i]! ^= 0x01;
      expect(hex(d.deriveOne(t, 0)) === base, `byte ${i}`).toBe(i >= 12);
    }
  });

  it('rejects bad lengths and ranges, and every use after destroy, with INVALID_ARGUMENT', () => {
    const codeOf = (f: () => unknown): string => {
      try {
        f();
        return 'accepted';
      } catch (e) {
        return e instanceof CustosError ? e.code : `raw ${String(e)}`;
      }
    };
    expect(codeOf(() => new XaesKeyDeriver(new Uint8Array(16)))).toBe('INVALID_ARGUMENT');
    const d = new XaesKeyDeriver(randomBytes(32));
    expect(codeOf(() => d.deriveOne(new Uint8Array(23), 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => d.deriveOne(new Uint8Array(24), 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => d.deriveManyInto(new Uint8Array(48), 0, 3, new Uint8Array(96), 0))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => d.deriveManyInto(new Uint8Array(48), 0, 2, new Uint8Array(63), 0))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => d.deriveManyInto(new Uint8Array(48), 0, 0, new Uint8Array(64), 0))).toBe(
      'INVALID_ARGUMENT',
    );
    d.destroy();
    expect(codeOf(() => d.deriveOne(new Uint8Array(24), 0))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => d.deriveManyInto(new Uint8Array(24), 0, 1, new Uint8Array(32), 0))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(JSON.stringify({ d })).toBe('{"d":"[XaesKeyDeriver]"}');
  });

  it('the reference seal is XAES-256-GCM too (C2SP vector 2)', () => {
    const v = C2SP[1]!;
    expect(
      hex(xaesSealReference(Buffer.from(v.k, 'hex'), ascii(v.n), ascii(v.plaintext), ascii(v.aad))),
    ).toBe(v.ciphertext);
  });
});
