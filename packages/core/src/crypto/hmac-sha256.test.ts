import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { HmacSha256 } from './hmac-sha256.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

function mac(key: Uint8Array, msg: Uint8Array, outLength = 32, prefix?: Uint8Array): Uint8Array {
  const out = new Uint8Array(outLength);
  new HmacSha256(key, prefix).macInto(msg, msg.length, out, 0, outLength);
  return out;
}

// RFC 4231 §4.2–4.8, HMAC-SHA-256 outputs.
const RFC4231: readonly { name: string; key: Uint8Array; data: Uint8Array; mac: string }[] = [
  {
    name: 'test case 1',
    key: new Uint8Array(20).fill(0x0b),
    data: ascii('Hi There'),
    mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
  },
  {
    name: 'test case 2',
    key: ascii('Jefe'),
    data: ascii('what do ya want for nothing?'),
    mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  },
  {
    name: 'test case 3',
    key: new Uint8Array(20).fill(0xaa),
    data: new Uint8Array(50).fill(0xdd),
    mac: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe',
  },
  {
    name: 'test case 4',
    key: Uint8Array.from({ length: 25 }, (_, i) => i + 1),
    data: new Uint8Array(50).fill(0xcd),
    mac: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
  },
  {
    name: 'test case 6 (key longer than a block)',
    key: new Uint8Array(131).fill(0xaa),
    data: ascii('Test Using Larger Than Block-Size Key - Hash Key First'),
    mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  },
  {
    name: 'test case 7 (key and data longer than a block)',
    key: new Uint8Array(131).fill(0xaa),
    data: ascii(
      'This is a test using a larger than block-size key and a larger than block-size data. ' +
        'The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  },
];

describe('HmacSha256', () => {
  for (const v of RFC4231) {
    it(`matches RFC 4231 ${v.name}`, () => {
      expect(hex(mac(v.key, v.data))).toBe(v.mac);
    });
  }

  it('matches RFC 4231 test case 5 truncated to 128 bits (the blind-token length)', () => {
    expect(hex(mac(new Uint8Array(20).fill(0x0c), ascii('Test With Truncation'), 16))).toBe(
      'a3b6167473100ee06e0c796c2955552b',
    );
  });

  it('equals createHmac for random keys and messages of every length up to three blocks', () => {
    const key = randomBytes(32);
    for (let len = 0; len <= 200; len++) {
      const msg = randomBytes(len);
      expect(hex(mac(key, msg)), `length ${len}`).toBe(createHmac('sha256', key).update(msg).digest('hex'));
    }
  });

  it('with a prefix block equals createHmac over prefix ‖ message (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 100 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 1, max: 32 }),
        (key, prefix, msg, outLength) => {
          const expected = createHmac('sha256', key)
            .update(prefix)
            .update(msg)
            .digest()
            .subarray(0, outLength);
          expect(hex(mac(key, msg, outLength, prefix))).toBe(hex(expected));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('reuses its scratch state safely: interleaved MACs under two keys stay correct', () => {
    const k1 = randomBytes(32);
    const k2 = randomBytes(32);
    const m1 = new HmacSha256(k1);
    const m2 = new HmacSha256(k2);
    for (let i = 0; i < 50; i++) {
      const msg = randomBytes(i * 3);
      const o1 = new Uint8Array(32);
      const o2 = new Uint8Array(32);
      m1.macInto(msg, msg.length, o1, 0, 32);
      m2.macInto(msg, msg.length, o2, 0, 32);
      expect(hex(o1)).toBe(createHmac('sha256', k1).update(msg).digest('hex'));
      expect(hex(o2)).toBe(createHmac('sha256', k2).update(msg).digest('hex'));
    }
  });
});

describe('HmacSha256 bounds and lifecycle', () => {
  const key = randomBytes(32);

  it('MACs only the first msgLength bytes and writes only outLength bytes at outOffset', () => {
    const h = new HmacSha256(key);
    const msg = ascii('custos-archive-v1 record-key\u0000 and trailing bytes');
    const out = new Uint8Array(40).fill(0xee);
    h.macInto(msg, 29, out, 3, 32);
    expect(hex(out.subarray(3, 35))).toBe(
      createHmac('sha256', key).update(msg.subarray(0, 29)).digest('hex'),
    );
    expect([...out.subarray(0, 3), ...out.subarray(35)]).toEqual(new Array(8).fill(0xee));
  });

  it('accepts a 64-byte key as is and rejects a prefix block that is not 64 bytes', () => {
    const k64 = randomBytes(64);
    expect(hex(mac(k64, ascii('x')))).toBe(createHmac('sha256', k64).update('x').digest('hex'));
    expect(() => new HmacSha256(key, new Uint8Array(63))).toThrow(CustosError);
  });

  it('rejects out-of-range message lengths and output ranges with a CustosError', () => {
    const h = new HmacSha256(key);
    const msg = new Uint8Array(10);
    const out = new Uint8Array(32);
    for (const [ml, off, ol] of [
      [11, 0, 32],
      [-1, 0, 32],
      [Number.NaN, 0, 32],
      [10, 1, 32],
      [10, -1, 16],
      [10, 0, 33],
      [10, 0, 0],
    ] as const) {
      expect(() => h.macInto(msg, ml, out, off, ol), `${ml} ${off} ${ol}`).toThrow(CustosError);
    }
  });

  it('refuses to MAC after destroy and never prints its state', () => {
    const h = new HmacSha256(key);
    expect(JSON.stringify({ h })).toBe('{"h":"[HmacSha256]"}');
    h.destroy();
    expect(() => h.macInto(new Uint8Array(1), 1, new Uint8Array(32), 0, 32)).toThrow(CustosError);
  });
});
