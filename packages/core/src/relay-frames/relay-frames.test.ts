/** Relay binary frames: round trips, the exact layout, and a clear error for every malformed frame. */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import {
  decodeRelayClientFrame,
  decodeRelayServerFrame,
  encodeRelayFrame,
  isCanonicalId,
  RELAY_FRAME_KIND,
  type RelayClientFrame,
  type RelayServerFrame,
} from './relay-frames.js';

const limits = { maxEnvelopes: 64, maxContentBytes: 1024, maxAckIds: 1000 };
const id = (): string => randomBytes(16).toString('base64url');
const idArb = fc
  .uint8Array({ minLength: 16, maxLength: 16 })
  .map((b) => Buffer.from(b).toString('base64url'));
const u48 = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const content = fc.uint8Array({ minLength: 1, maxLength: 200 });

const sendArb = fc.record({
  kind: fc.constant('send' as const),
  reqId: u48,
  recipient: fc.record({ orgId: idArb, userId: idArb }),
  envelopes: fc.array(fc.record({ deviceId: idArb, type: fc.integer({ min: 0, max: 255 }), content }), {
    minLength: 1,
    maxLength: 5,
  }),
});
const ackArb = fc.oneof(
  fc.record({ kind: fc.constant('ack' as const), ids: fc.array(idArb, { minLength: 1, maxLength: 8 }) }),
  fc.record({
    kind: fc.constant('ack' as const),
    reqId: u48,
    ids: fc.array(idArb, { minLength: 1, maxLength: 8 }),
  }),
);
const envelopeArb = fc.record({
  kind: fc.constant('envelope' as const),
  id: idArb,
  sender: fc.record({
    orgId: idArb,
    userId: idArb,
    deviceId: idArb,
    deviceNumber: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  }),
  type: fc.integer({ min: 0, max: 255 }),
  content,
  serverTime: u48,
});
const sentArb = fc.record({
  kind: fc.constant('sent' as const),
  reqId: u48,
  serverTime: u48,
  envelopes: fc.array(fc.record({ deviceId: idArb, envelopeId: idArb }), { maxLength: 5 }),
});
const ackedArb = fc.record({ kind: fc.constant('acked' as const), reqId: u48 });

/** Normalises decoded content views to plain arrays so frames compare by value. */
const plain = (v: unknown): unknown =>
  v instanceof Uint8Array
    ? [...v]
    : Array.isArray(v)
      ? v.map(plain)
      : typeof v === 'object' && v !== null
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
        : v;

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CustosError);
    return `${(e as CustosError).code}: ${(e as Error).message}`;
  }
  return 'accepted';
}

describe('relay binary frames', () => {
  it('client frames round-trip', () => {
    fc.assert(
      fc.property(fc.oneof(sendArb, ackArb), (f: RelayClientFrame) => {
        expect(plain(decodeRelayClientFrame(encodeRelayFrame(f), limits))).toEqual(plain(f));
      }),
    );
  });

  it('server frames round-trip', () => {
    fc.assert(
      fc.property(fc.oneof(envelopeArb, sentArb, ackedArb), (f: RelayServerFrame) => {
        expect(plain(decodeRelayServerFrame(encodeRelayFrame(f)))).toEqual(plain(f));
      }),
    );
  });

  it('lays an ack out byte by byte as documented', () => {
    const a = Buffer.alloc(16, 0xaa).toString('base64url');
    const bytes = encodeRelayFrame({ kind: 'ack', reqId: 0x010203040506, ids: [a] });
    expect(bytes.toString('hex')).toBe('0201' + '010203040506' + '0001' + 'aa'.repeat(16));
    expect(encodeRelayFrame({ kind: 'acked', reqId: 7 }).toString('hex')).toBe('83000000000007');
  });

  it('refuses every truncation and any trailing byte, naming the field', () => {
    const frames = [
      encodeRelayFrame({
        kind: 'send',
        reqId: 1,
        recipient: { orgId: id(), userId: id() },
        envelopes: [{ deviceId: id(), type: 1, content: Buffer.from('hi') }],
      }),
      encodeRelayFrame({ kind: 'ack', reqId: 2, ids: [id(), id()] }),
    ];
    for (const f of frames) {
      for (let n = 0; n < f.length; n++)
        expect(codeOf(() => decodeRelayClientFrame(f.subarray(0, n), limits))).toMatch(
          /^MALFORMED_INPUT: relay frame: (empty|ends inside)/,
        );
      expect(codeOf(() => decodeRelayClientFrame(Buffer.concat([f, Buffer.of(0)]), limits))).toBe(
        "MALFORMED_INPUT: relay frame: 1 bytes after the frame's end",
      );
    }
    const env = encodeRelayFrame({
      kind: 'envelope',
      id: id(),
      sender: { orgId: id(), userId: id(), deviceId: id(), deviceNumber: 1 },
      type: 1,
      content: Buffer.from('x'),
      serverTime: 5,
    });
    for (let n = 0; n < env.length; n++)
      expect(codeOf(() => decodeRelayServerFrame(env.subarray(0, n)))).toMatch(/^MALFORMED_INPUT/);
  });

  it('refuses unknown kinds, a server frame from a client and a client frame from the server', () => {
    expect(codeOf(() => decodeRelayClientFrame(Buffer.of(0x7f), limits))).toBe(
      'MALFORMED_INPUT: relay frame: unknown client frame kind 0x7f',
    );
    expect(
      codeOf(() => decodeRelayClientFrame(encodeRelayFrame({ kind: 'acked', reqId: 1 }), limits)),
    ).toMatch(/unknown client frame kind 0x83/);
    expect(codeOf(() => decodeRelayServerFrame(encodeRelayFrame({ kind: 'ack', ids: [id()] })))).toMatch(
      /unknown server frame kind 0x2/,
    );
  });

  it('refuses counts and lengths outside the limits, oversized content as OVERSIZED_INPUT', () => {
    const send = (envelopes: { deviceId: string; type: number; content: Uint8Array }[]): Buffer =>
      encodeRelayFrame({ kind: 'send', reqId: 1, recipient: { orgId: id(), userId: id() }, envelopes });
    const one = { deviceId: id(), type: 1, content: Buffer.alloc(1) };
    const zero = send([one]);
    zero[1 + 6 + 32] = 0; // envelope count 0
    expect(codeOf(() => decodeRelayClientFrame(zero.subarray(0, 1 + 6 + 32 + 1), limits))).toBe(
      'MALFORMED_INPUT: relay frame: 0 envelopes, expected 1–64',
    );
    expect(codeOf(() => decodeRelayClientFrame(send(Array.from({ length: 65 }, () => one)), limits))).toMatch(
      /65 envelopes, expected 1–64/,
    );
    expect(
      codeOf(() => decodeRelayClientFrame(send([{ ...one, content: Buffer.alloc(1025) }]), limits)),
    ).toBe('OVERSIZED_INPUT: relay frame: envelopes.0: 1025 content bytes, at most 1024');
    // A length field claiming more than the limit is refused before any bytes are read.
    const huge = send([one]);
    huge.writeUInt32BE(0xffffffff, 1 + 6 + 32 + 1 + 16 + 1);
    expect(codeOf(() => decodeRelayClientFrame(huge, limits))).toMatch(/^OVERSIZED_INPUT/);
    const empty = send([one]);
    empty.writeUInt32BE(0, 1 + 6 + 32 + 1 + 16 + 1);
    expect(codeOf(() => decodeRelayClientFrame(empty.subarray(0, empty.length - 1), limits))).toBe(
      'MALFORMED_INPUT: relay frame: envelopes.0: empty content',
    );
    const acks = encodeRelayFrame({ kind: 'ack', ids: Array.from({ length: 1001 }, id) });
    expect(codeOf(() => decodeRelayClientFrame(acks, limits))).toMatch(/1001 ids, expected 1–1000/);
    expect(codeOf(() => decodeRelayClientFrame(Buffer.of(RELAY_FRAME_KIND.ack, 0, 0, 0), limits))).toMatch(
      /0 ids/,
    );
    expect(codeOf(() => decodeRelayClientFrame(Buffer.of(RELAY_FRAME_KIND.ack, 0x02, 0, 1), limits))).toBe(
      'MALFORMED_INPUT: relay frame: unknown ack flags 0x2',
    );
  });

  it('refuses to encode what the layout cannot hold', () => {
    expect(codeOf(() => encodeRelayFrame({ kind: 'acked', reqId: 2 ** 48 }))).toMatch(
      /^INVALID_ARGUMENT: relay frame: reqId/,
    );
    expect(codeOf(() => encodeRelayFrame({ kind: 'ack', ids: ['not-an-id'] }))).toMatch(
      /ids.0 is not a 16-byte base64url id/,
    );
    // 22 characters whose last one carries bits beyond the 16 bytes: not canonical, refused.
    expect(codeOf(() => encodeRelayFrame({ kind: 'ack', ids: ['A'.repeat(21) + 'B'] }))).toMatch(
      /not a 16-byte/,
    );
  });

  it('takes as an id exactly the texts that round-trip through 16 bytes (property)', () => {
    // A canonical id with one character replaced (base64url, standard base64 or neither), or
    // cut or lengthened by one: near misses and hits alike.
    const char = fc.constantFrom(...'AQgwBZaz09-_+/=.!'.split(''));
    const text = fc
      .tuple(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.nat(21),
        char,
        fc.constantFrom(-1, 0, 0, 0, 1),
      )
      .map(([bytes, at, c, grow]) => {
        const id = Buffer.from(bytes).toString('base64url');
        const replaced = id.slice(0, at) + c + id.slice(at + 1);
        return grow < 0 ? replaced.slice(0, 21) : grow > 0 ? replaced + c : replaced;
      });
    let hits = 0;
    fc.assert(
      fc.property(text, (s) => {
        const bytes = Buffer.from(s, 'base64url');
        const roundTrips = bytes.length === 16 && bytes.toString('base64url') === s;
        if (roundTrips) hits++;
        expect(isCanonicalId(s)).toBe(roundTrips);
        const encodes = codeOf(() => encodeRelayFrame({ kind: 'ack', ids: [s] })) === 'accepted';
        expect(encodes).toBe(roundTrips);
      }),
      { numRuns: 2000 },
    );
    // Both sides were tried.
    expect(hits).toBeGreaterThan(200);
    expect(hits).toBeLessThan(1800);
  });
});
