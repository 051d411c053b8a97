import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CustosError } from '../errors.js';
import { decodeBody, encodeBody, EVENT_KINDS } from './body.js';
import type { RecordBody } from './body.js';
import { encodeDeterministic } from './deterministic-cbor.js';
import { fullBody, minimalBody } from './testing-fixtures.test-data.js';

const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return e instanceof CustosError ? e.code : `raw ${String(e)}`;
  }
};

const text = fc.string({ minLength: 1, maxLength: 20 });
const arbBody: fc.Arbitrary<RecordBody> = fc.record(
  {
    direction: fc.constantFrom('sent' as const, 'received' as const),
    kind: fc.constantFrom(...EVENT_KINDS),
    messageId: text,
    conversationId: text,
    participants: fc.array(text, { maxLength: 5 }),
    sender: text,
    sentAt: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    receivedAt: fc.nat(),
    text: fc.string({ unit: 'grapheme', maxLength: 200 }),
    attachments: fc.array(
      fc.record(
        {
          blobId: text,
          key: fc.uint8Array({ minLength: 32, maxLength: 64 }),
          digest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
          size: fc.nat(),
          contentType: text,
          fileName: text,
        },
        { requiredKeys: ['blobId', 'key', 'digest', 'size', 'contentType'] },
      ),
      { maxLength: 3 },
    ),
    edits: text,
    reaction: fc.string({ maxLength: 4 }),
    added: fc.array(text, { maxLength: 3 }),
    timerSeconds: fc.nat(),
    archiveNotice: fc.boolean(),
    envelopeHashes: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 3 }),
  },
  {
    requiredKeys: [
      'direction',
      'kind',
      'messageId',
      'conversationId',
      'participants',
      'sender',
      'sentAt',
      'attachments',
      'archiveNotice',
      'envelopeHashes',
    ],
  },
);

describe('record body codec', () => {
  it('round-trips any valid body, and the encoding is canonical', () => {
    fc.assert(
      fc.property(arbBody, (b) => {
        const bytes = encodeBody(b);
        const d = decodeBody(bytes);
        expect(Buffer.from(encodeBody(d)).equals(Buffer.from(bytes))).toBe(true);
        expect(d.messageId).toBe(b.messageId);
        expect(d.attachments.length).toBe(b.attachments.length);
      }),
      { numRuns: 300 },
    );
    expect(decodeBody(encodeBody(minimalBody()))).toEqual(minimalBody());
  });

  it('rejects unknown fields, nulls, wrong types, floats, oversize and non-canonical bytes', () => {
    const m = {
      dir: 'sent',
      kind: 'message',
      mid: 'm',
      conv: 'c',
      parts: [],
      from: 'a',
      sent: 1,
      att: [],
      notice: true,
      env: [],
    };
    expect(codeOf(() => decodeBody(encodeDeterministic(m)))).toBe('accepted');
    const bad: Record<string, unknown> = {
      unknown: { ...m, zz: 1 },
      null: { ...m, text: null },
      missing: { ...m, mid: undefined },
      kind: { ...m, kind: 'poll' },
      float: { ...m, sent: 1.5 },
      negative: { ...m, sent: -1 },
      'empty id': { ...m, mid: '' },
      'short envelope hash': { ...m, env: [new Uint8Array(31)] },
      'attachment key': {
        ...m,
        att: [{ id: 'b', key: new Uint8Array(8), dig: new Uint8Array(32), size: 1, type: 't' }],
      },
      notice: { ...m, notice: 1 },
    };
    for (const [name, v] of Object.entries(bad)) {
      const clean = Object.fromEntries(Object.entries(v as object).filter(([, x]) => x !== undefined));
      expect(
        codeOf(() => decodeBody(encodeDeterministic(clean))),
        name,
      ).toBe('MALFORMED_RECORD');
    }
    // 1 as a half-precision float instead of an integer: decodes to 1, but is not canonical.
    const ok = Buffer.from(encodeDeterministic(m));
    const i = ok.indexOf(Buffer.from([0x64, 0x73, 0x65, 0x6e, 0x74, 0x01]));
    const f16 = Buffer.concat([ok.subarray(0, i + 5), Buffer.from([0xf9, 0x3c, 0x00]), ok.subarray(i + 6)]);
    expect(codeOf(() => decodeBody(f16))).toBe('MALFORMED_RECORD');
    // Unsorted keys.
    const unsorted = Buffer.from([0xa1, 0x61, 0x62, 0x01]);
    expect(codeOf(() => decodeBody(unsorted))).toBe('MALFORMED_RECORD');
    expect(codeOf(() => decodeBody(new Uint8Array(1_100_000)))).toBe('OVERSIZED_INPUT');
    expect(codeOf(() => encodeBody({ ...fullBody(), kind: 'poll' as never }))).toBe('MALFORMED_RECORD');
  });
});
