import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CustosError } from '../errors.js';
import { fuzzParser } from '../testing/fuzz.js';
import { canonicalTokens, decodeHeader, encodeHeader } from './header.js';
import type { RecordHeader } from './header.js';
import {
  headerTemplate,
  matchTemplateHeader,
  templateHeaderLength,
  writeTemplateHeader,
} from './header-template.js';
import type { HeaderTemplate } from './header-template.js';
import { bucketId, deviceId, orgId } from './ids.js';
import type { RecordHash, SessionKeyId } from './ids.js';
import { CTX, arbitraryHeader, sampleHeader } from './testing-fixtures.test-data.js';

const SKEY = randomBytes(32) as Uint8Array as SessionKeyId;
const T = headerTemplate({ ...CTX, sessionKeyId: SKEY });

const header = (over: Partial<RecordHeader> = {}): RecordHeader =>
  sampleHeader({ sessionKeyId: SKEY, ...over });

/** The template writer's bytes for `h`, at an offset inside a larger buffer. */
function writeWith(t: HeaderTemplate, h: RecordHeader): Uint8Array {
  const n = templateHeaderLength(t, h);
  const out = new Uint8Array(n + 10).fill(0xee);
  expect(writeTemplateHeader(t, h, out, 3)).toBe(3 + n);
  expect(out[2]).toBe(0xee);
  expect(out[3 + n]).toBe(0xee);
  return out.subarray(3, 3 + n);
}

const plain = (h: RecordHeader) => ({ ...h, tokens: h.tokens.map((t) => Uint8Array.from(t)) });

type Outcome = { ok: true; header: ReturnType<typeof plain> } | { ok: false; error: string };

function strict(bytes: Uint8Array): Outcome {
  try {
    return { ok: true, header: plain(decodeHeader(bytes)) };
  } catch (e) {
    if (!(e instanceof CustosError)) throw e;
    return { ok: false, error: `${e.code}: ${e.message}` };
  }
}

const sameAsTemplate = (h: RecordHeader, t: HeaderTemplate, skey: Uint8Array): boolean =>
  h.org === t.org &&
  h.device === t.device &&
  h.bucket === t.bucket &&
  Buffer.from(h.sessionKeyId).equals(Buffer.from(skey));

/**
 * The differential property: the matcher returns a header only where decodeHeader accepts
 * (and then the same header, over a copy of the same bytes), and for every header that
 * decodeHeader accepts with the template's ids and key id, the matcher returns it too.
 * Throws a plain Error (a fuzz failure) on any disagreement.
 */
function agree(bytes: Uint8Array): void {
  // Embedded in a larger buffer, as in a record: the matcher must not read outside it.
  const host = new Uint8Array(bytes.length + 8).fill(0x50);
  host.set(bytes, 4);
  const m = matchTemplateHeader(T, host, 4, 4 + bytes.length);
  const s = strict(bytes);
  if (m !== undefined) {
    if (!s.ok) throw new Error(`matcher accepted what decodeHeader refuses (${s.error})`);
    expect(plain(m.header)).toEqual(s.header);
    expect(Buffer.from(m.bytes).equals(Buffer.from(bytes))).toBe(true);
    expect(m.bytes.buffer).not.toBe(host.buffer);
  } else if (s.ok && sameAsTemplate(s.header, T, SKEY)) {
    throw new Error('matcher refused a header of its own context that decodeHeader accepts');
  }
}

describe('header template (hot-path header codec)', () => {
  it('writes exactly the bytes of encodeHeader, and matches them back to the same header', () => {
    fc.assert(
      fc.property(arbitraryHeader(header), (h) => {
        const bytes = writeWith(T, h);
        expect(Buffer.from(bytes).equals(Buffer.from(encodeHeader(h)))).toBe(true);
        agree(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('writes the integer boundaries in shortest form, as encodeHeader does', () => {
    const edges = [0, 23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER];
    for (const n of edges) {
      const h = header({ seq: Math.max(n, 1), attachmentBytes: n, sealedBodyBytes: Math.min(n, 1_000_000) });
      const bytes = writeWith(T, h);
      expect(Buffer.from(bytes).equals(Buffer.from(encodeHeader(h)))).toBe(true);
      agree(bytes);
    }
  });

  it('returns nothing for headers of another org, device, bucket or session key', () => {
    const others = [
      headerTemplate({ ...CTX, org: orgId('org-other'), sessionKeyId: SKEY }),
      headerTemplate({ ...CTX, device: deviceId('dev-alice-phonf'), sessionKeyId: SKEY }),
      headerTemplate({ ...CTX, bucket: bucketId('standard-2026'), sessionKeyId: SKEY }),
      headerTemplate({ ...CTX, sessionKeyId: randomBytes(32) as Uint8Array as SessionKeyId }),
    ];
    const bytes = encodeHeader(header());
    expect(matchTemplateHeader(T, bytes, 0, bytes.length)).toBeDefined();
    for (const t of others) expect(matchTemplateHeader(t, bytes, 0, bytes.length)).toBeUndefined();
  });

  it('agrees with decodeHeader on every single-byte change and truncation of a header', () => {
    const good = encodeHeader(header({ tokens: canonicalTokens([randomBytes(16), randomBytes(16)]) }));
    for (let at = 0; at < good.length; at++) {
      for (const v of [0, 1, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1f, 0x20, 0x40, 0x50, 0x58, 0x7f, 0x80, 0xff]) {
        const t = Uint8Array.from(good);
        t[at] = v;
        agree(t);
        t[at] = good[at]! ^ 1;
        agree(t);
      }
      agree(good.subarray(0, at));
    }
  });

  it('agrees with decodeHeader on non-shortest integers, token order, seq 0, sizes and trailing bytes', () => {
    const base = header({ seq: 5, tokens: canonicalTokens([randomBytes(16), randomBytes(16)]) });
    const bytes = encodeHeader(base);
    const hex = Buffer.from(bytes).toString('hex');
    const variants = [
      hex.replace('637365710' + '5', '63736571' + '1805'), // seq 5 in two bytes
      hex.replace('6361737a00', '6361737a1800'), // asz 0 in two bytes
      hex + '00', // trailing byte
      hex.replace('6361737a00', '6361737a1b0020000000000000'), // asz 2^53
      hex.replace('6361737a00', '6361737a1b001fffffffffffff'), // asz 2^53-1, long form needed
    ];
    for (const v of variants) {
      expect(v).not.toBe(hex);
      agree(Buffer.from(v, 'hex'));
    }
    const [a, b] = base.tokens;
    agree(encodeHeaderUnchecked({ ...base, tokens: [b!, a!] }));
    agree(encodeHeaderUnchecked({ ...base, tokens: [a!, a!] }));
    agree(encodeHeaderUnchecked({ ...base, seq: 0 }));
    agree(encodeHeaderUnchecked({ ...base, sealedBodyBytes: 2 ** 31 }));
    agree(encodeHeaderUnchecked({ ...base, version: 2 }));
    agree(encodeHeader({ ...base, seq: 0, prev: new Uint8Array(32) as RecordHash }));
  });

  it('agrees with decodeHeader under the mutation fuzzer', () => {
    const seeds = [
      encodeHeader(header()),
      encodeHeader(header({ seq: 0, prev: new Uint8Array(32) as RecordHash, tokens: [] })),
      encodeHeader(header({ seq: 2 ** 40, attachmentBytes: 70_000, sealedBodyBytes: 300 })),
    ];
    const report = fuzzParser(agree, seeds, { maxLength: 1024 });
    expect(report.failures).toEqual([]);
  });
});

/** Writes a header through the template writer without validation (to build refused inputs). */
function encodeHeaderUnchecked(h: RecordHeader): Uint8Array {
  const bytes = writeWith(T, { ...h, version: 1 });
  if (h.version !== 1) bytes[3] = h.version; // the version byte follows map(10) "v"
  return bytes;
}
