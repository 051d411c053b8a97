import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CustosError } from '../errors.js';
import { decodeStrict, encodeDeterministic, isCborMap } from './deterministic-cbor.js';
import {
  areHeaderTokens,
  canonicalBlobIds,
  canonicalTokens,
  decodeHeader,
  encodeHeader,
  unlistedBlobIds,
} from './header.js';
import { MAX_HEADER_BLOB_IDS, MAX_HEADER_BYTES, MAX_TOKENS } from './limits.js';
import type { RecordHeader } from './header.js';
import { arbitraryHeader, sampleHeader } from './testing-fixtures.test-data.js';

const header = sampleHeader;

const asCbor = (h: RecordHeader) => ({
  v: h.version,
  org: h.org,
  dev: h.device,
  bkt: h.bucket,
  seq: h.seq,
  prev: h.prev,
  skey: h.sessionKeyId,
  tok: h.tokens,
  bsz: h.sealedBodyBytes,
  asz: h.attachmentBytes,
  ...(h.blobIds !== undefined && h.blobIds.length > 0 ? { att: h.blobIds } : {}),
});

const blobId = (): string => randomBytes(32).toString('hex');

const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return e instanceof CustosError ? e.code : `raw ${String(e)}`;
  }
};

// The reference reading of a header: cborg strict decode + canonical check + schema.
function referenceDecode(bytes: Uint8Array): RecordHeader {
  const m = decodeStrict(bytes, 'record header', 'MALFORMED_RECORD');
  const fields = isCborMap(m) ? Object.keys(m).length : 0;
  if (!isCborMap(m) || (fields !== 10 && !(fields === 11 && 'att' in m)))
    throw new CustosError('MALFORMED_RECORD', 'shape');
  if (fields === 11 && (m.att as unknown[]).length === 0) throw new CustosError('MALFORMED_RECORD', 'empty');
  const h: RecordHeader = {
    version: m.v as number,
    org: m.org as never,
    device: m.dev as never,
    bucket: m.bkt as never,
    seq: m.seq as number,
    prev: m.prev as never,
    sessionKeyId: m.skey as never,
    tokens: m.tok as Uint8Array[],
    sealedBodyBytes: m.bsz as number,
    attachmentBytes: m.asz as number,
    ...(fields === 11 ? { blobIds: m.att as string[] } : {}),
  };
  // The encoder's checks stand for the fields' rules; the decoder under test is not asked.
  encodeHeader(h);
  return h;
}

/** Mutations (one byte changed, or the bytes cut) of `good` are accepted by decodeHeader exactly when the reference accepts them. */
function expectAgreementOnMutations(good: Uint8Array): void {
  fc.assert(
    fc.property(fc.nat(good.length - 1), fc.nat(255), fc.nat(good.length), (at, v, cut) => {
      const t = Uint8Array.from(good);
      t[at] = v;
      for (const input of [t, t.subarray(0, cut)]) {
        const a = codeOf(() => decodeHeader(input));
        const b = codeOf(() => referenceDecode(input));
        expect(a.startsWith('raw')).toBe(false);
        expect(a === 'accepted', `byte ${at} = ${v}`).toBe(b === 'accepted');
      }
    }),
    { numRuns: 3000 },
  );
}

describe('record header codec', () => {
  it('writes exactly what cborg writes with its RFC 8949 deterministic options', () => {
    fc.assert(
      fc.property(arbitraryHeader(header), (h) => {
        const fast = encodeHeader(h);
        expect(Buffer.from(fast).equals(Buffer.from(encodeDeterministic(asCbor(h))))).toBe(true);
        const d = decodeHeader(fast);
        expect({ ...d, tokens: d.tokens }).toEqual({
          ...h,
          prev: new Uint8Array(h.prev),
          sessionKeyId: new Uint8Array(h.sessionKeyId),
          tokens: h.tokens.map((t) => new Uint8Array(t)),
        });
      }),
      { numRuns: 300 },
    );
  });

  it('accepts exactly what the cborg strict decoder with the canonical check accepts (mutations of a header)', () => {
    expectAgreementOnMutations(encodeHeader(header()));
  });

  it('lists blob ids in "att" exactly as cborg writes them, and reads them back', () => {
    fc.assert(
      fc.property(
        arbitraryHeader(header),
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: 1, maxLength: 40 }),
        (h, raw) => {
          const listed = { ...h, blobIds: canonicalBlobIds(raw.map((b) => Buffer.from(b).toString('hex'))) };
          const fast = encodeHeader(listed);
          expect(Buffer.from(fast).equals(Buffer.from(encodeDeterministic(asCbor(listed))))).toBe(true);
          expect(decodeHeader(fast).blobIds).toEqual(listed.blobIds);
        },
      ),
      { numRuns: 200 },
    );
    // No ids, or an empty list: no "att" at all, the header of before the field.
    const base = header();
    const plain = encodeHeader(base);
    expect(Buffer.from(encodeHeader({ ...base, blobIds: [] })).equals(Buffer.from(plain))).toBe(true);
    expect(plain[0]).toBe(0xaa);
    expect(decodeHeader(plain).blobIds).toBeUndefined();
  });

  it('accepts exactly what the reference accepts for mutations of a header listing blob ids', () => {
    expectAgreementOnMutations(encodeHeader(header({ blobIds: canonicalBlobIds([blobId(), blobId()]) })));
  });

  it('refuses a malformed blob id list, naming it, in the decoder and the encoder', () => {
    const h = asCbor(header());
    const [a, b] = canonicalBlobIds([blobId(), blobId()]) as [string, string];
    const cases: Record<string, unknown> = {
      'empty list': [],
      'not a list': a,
      unsorted: [b, a],
      duplicate: [a, a],
      'uppercase hex': [a.toUpperCase()],
      '63 hex digits': [a.slice(1)],
      'not hex': ['z'.repeat(64)],
      'bytes, not text': [Buffer.from(a, 'hex')],
    };
    for (const [name, att] of Object.entries(cases)) {
      expect(
        codeOf(() => decodeHeader(encodeDeterministic({ ...h, att }))),
        name,
      ).toBe('MALFORMED_RECORD');
    }
    const tooMany = canonicalBlobIds(Array.from({ length: MAX_HEADER_BLOB_IDS + 1 }, blobId));
    expect(codeOf(() => decodeHeader(encodeDeterministic({ ...h, att: tooMany })))).toBe('MALFORMED_RECORD');
    expect(codeOf(() => encodeHeader(header({ blobIds: tooMany })))).toBe('MALFORMED_RECORD');
    expect(codeOf(() => encodeHeader(header({ blobIds: [b, a] })))).toBe('MALFORMED_RECORD');
    expect(codeOf(() => encodeHeader(header({ blobIds: ['abc'] })))).toBe('MALFORMED_RECORD');
    // The most ids with the most tokens still fit a header.
    const full = header({
      tokens: canonicalTokens(Array.from({ length: MAX_TOKENS }, () => randomBytes(16))),
      blobIds: canonicalBlobIds(Array.from({ length: MAX_HEADER_BLOB_IDS }, blobId)),
    });
    expect(encodeHeader(full).length).toBeLessThanOrEqual(MAX_HEADER_BYTES);
  });

  it("unlistedBlobIds names the body's blob ids the header does not list, and nothing else", () => {
    const [a, b, c] = canonicalBlobIds([blobId(), blobId(), blobId()]) as [string, string, string];
    const listed = header({ blobIds: [a, b] });
    expect(unlistedBlobIds(listed, [b, a, a])).toEqual([]);
    expect(unlistedBlobIds(listed, [c, a, c])).toEqual([c]);
    // A body id that is no blob id names no blob on a server: not a finding.
    expect(unlistedBlobIds(listed, ['not-a-blob', a.toUpperCase()])).toEqual([]);
    // A header listing none (an older client, or a device that left them out): all of them.
    expect(unlistedBlobIds(header(), [b, a])).toEqual([a, b]);
    expect(unlistedBlobIds(header(), [])).toEqual([]);
  });

  it('names the version problem, sizes and malformed fields', () => {
    expect(codeOf(() => decodeHeader(encodeDeterministic({ ...asCbor(header()), v: 2 })))).toBe(
      'UNSUPPORTED_VERSION',
    );
    expect(codeOf(() => decodeHeader(new Uint8Array(70_000)))).toBe('OVERSIZED_INPUT');
    const h = asCbor(header());
    const cases: Record<string, unknown> = {
      'unsorted tokens': { ...h, tok: [...h.tok].reverse() },
      'duplicate tokens': { ...h, tok: [h.tok[0], h.tok[0]] },
      'short token': { ...h, tok: [new Uint8Array(15)] },
      'bad org': { ...h, org: 'a b' },
      'nonzero prev at seq 0': { ...h, seq: 0 },
      'missing field': { ...h, asz: undefined },
      'extra field': { ...h, zz: 1 },
      'short prev': { ...h, prev: new Uint8Array(31) },
    };
    for (const [name, m] of Object.entries(cases)) {
      const clean = JSON.parse(JSON.stringify(Object.keys(m as object))) as string[];
      const obj = Object.fromEntries(
        clean
          .filter((k) => (m as Record<string, unknown>)[k] !== undefined)
          .map((k) => [k, (m as Record<string, unknown>)[k]]),
      );
      expect(
        codeOf(() => decodeHeader(encodeDeterministic(obj))),
        name,
      ).toBe('MALFORMED_RECORD');
    }
    // Non-shortest integer (seq 7 as a one-byte argument) and an indefinite-length token list.
    const good = encodeHeader(header());
    const i = Buffer.from(good).indexOf(Buffer.from([0x63, 0x73, 0x65, 0x71, 0x07]));
    const longSeq = Buffer.concat([good.subarray(0, i + 4), Buffer.from([0x18, 0x07]), good.subarray(i + 5)]);
    expect(codeOf(() => decodeHeader(longSeq))).toBe('MALFORMED_RECORD');
    expect(codeOf(() => decodeHeader(Buffer.concat([good, Buffer.from([0])])))).toBe('MALFORMED_RECORD');
  });

  it('the encoder refuses what the decoder would refuse', () => {
    expect(codeOf(() => encodeHeader(header({ seq: -1 })))).toBe('MALFORMED_RECORD');
    expect(codeOf(() => encodeHeader(header({ seq: 1.5 })))).toBe('MALFORMED_RECORD');
    expect(
      codeOf(() => encodeHeader(header({ tokens: [randomBytes(16), randomBytes(16)].sort().reverse() }))),
    ).not.toBe('raw');
  });

  it('areHeaderTokens is true exactly when canonicalTokens keeps the list and the token checks pass', () => {
    const tok = fc.oneof(
      fc.uint8Array({ minLength: 16, maxLength: 16 }),
      fc.uint8Array({ minLength: 15, maxLength: 17 }),
      fc.constantFrom(new Uint8Array(16), new Uint8Array(16).fill(0xff)),
    );
    fc.assert(
      fc.property(fc.array(tok, { maxLength: 8 }), (toks) => {
        const strictOk = (() => {
          try {
            encodeHeader(header({ tokens: toks }));
            return true;
          } catch (e) {
            if (!(e instanceof CustosError)) throw e;
            return false;
          }
        })();
        expect(areHeaderTokens(toks)).toBe(strictOk && canonicalTokens(toks) === toks);
      }),
      { numRuns: 2000 },
    );
    expect(
      areHeaderTokens(
        Array.from({ length: MAX_TOKENS + 1 }, (_, i) =>
          Uint8Array.of(...new Uint8Array(14), i >> 8, i & 0xff),
        ),
      ),
    ).toBe(false);
    expect(areHeaderTokens(new Set([randomBytes(16)]) as unknown as Uint8Array[])).toBe(false);
  });
});
