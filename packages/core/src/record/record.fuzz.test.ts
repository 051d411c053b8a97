import { describe, expect, it } from 'vitest';
import { fuzzParser } from '../testing/fuzz.js';
import { generateBucketKeyPair } from '../seal/bucket-key.js';
import { createSessionSealer, decodeWrappedSessionKey, openSessionKey } from '../seal/session-key.js';
import { decodeBody, encodeBody } from './body.js';
import { decodeHeader } from './header.js';
import { genesisPrevHash } from './ids.js';
import { openRecordBytes, openRecordBytesStrict, parseRecord, sealRecord } from './record.js';
import { CustosError } from '../errors.js';
import { verifyChain } from './chain.js';
import { CTX, fullBody, minimalBody } from './testing-fixtures.test-data.js';

async function seeds() {
  const bucket = await generateBucketKeyPair();
  const sealer = await createSessionSealer(bucket.publicKey, CTX);
  const opener = await openSessionKey(bucket.privateKey, sealer.wrappedKey);
  const a = sealRecord(
    sealer,
    {
      ...CTX,
      seq: 0,
      prev: genesisPrevHash(),
      tokens: [new Uint8Array(16).fill(1), new Uint8Array(16).fill(2)],
      attachmentBytes: 9,
    },
    fullBody({ text: 'short' }),
  );
  const b = sealRecord(
    sealer,
    { ...CTX, seq: 1, prev: a.hash, tokens: [], attachmentBytes: 0 },
    minimalBody(),
  );
  return { sealer, opener, records: [a.bytes, b.bytes] };
}

describe('record decoders under fuzzing', () => {
  it('parseRecord / decodeHeader: every input returns or throws a CustosError', async () => {
    const { records } = await seeds();
    const headers = records.map((r) => parseRecord(r).headerBytes);
    for (const [parse, s] of [
      [parseRecord, records],
      [decodeHeader, headers],
    ] as const) {
      const report = fuzzParser(parse, s, { maxLength: 2048 });
      expect(report.failures).toEqual([]);
      expect(report.accepted).toBeGreaterThanOrEqual(s.length);
    }
  });

  it('decodeBody: every input returns or throws a CustosError', () => {
    const s = [encodeBody(fullBody()), encodeBody(minimalBody()), encodeBody(fullBody({ attachments: [] }))];
    const report = fuzzParser(decodeBody, s, { maxLength: 2048 });
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThanOrEqual(s.length);
  });

  it('openRecordBytes and verifyChain: mutated records are refused with CustosErrors, never opened', async () => {
    const { opener, records, sealer } = await seeds();
    let opened = 0;
    const report = fuzzParser(
      (input) => {
        openRecordBytes(opener, input);
        opened++;
      },
      records,
      { maxLength: 2048 },
    );
    expect(report.failures).toEqual([]);
    // Only unmodified seeds (and mutations that happen to reproduce one) open.
    expect(opened).toBe(report.accepted);
    const chainReport = fuzzParser((input) => verifyChain([records[0]!, input]), [records[1]!], {
      runs: 1000,
    });
    expect(chainReport.failures).toEqual([]);
    const wrapped = fuzzParser(decodeWrappedSessionKey, [sealer.wrappedKey], { maxLength: 600 });
    expect(wrapped.failures).toEqual([]);
    expect(wrapped.accepted).toBeGreaterThanOrEqual(1);
  });

  it('openRecordBytes (template fast path) and the strict path give the same result or the same error', async () => {
    const { opener, records } = await seeds();
    const other = await seeds(); // another session key: HASH_MISMATCH on the strict path
    const outcome = (f: () => { header: unknown; bodyBytes: Uint8Array }): string => {
      try {
        const r = f();
        const h = r.header as { tokens: readonly Uint8Array[] };
        return `ok ${JSON.stringify({ ...h, tokens: h.tokens })} ${Buffer.from(r.bodyBytes).toString('hex')}`;
      } catch (e) {
        if (!(e instanceof CustosError)) throw e;
        return `${e.code}: ${e.message}`;
      }
    };
    let opened = 0;
    const report = fuzzParser(
      (input) => {
        for (const o of [opener, other.opener]) {
          const fast = outcome(() => openRecordBytes(o, input));
          const strict = outcome(() => openRecordBytesStrict(o, input));
          if (fast !== strict)
            throw new Error(`fast path: ${fast.slice(0, 80)}; strict: ${strict.slice(0, 80)}`);
          if (fast.startsWith('ok')) opened++;
        }
      },
      [...records, ...other.records],
      { maxLength: 2048 },
    );
    expect(report.failures).toEqual([]);
    expect(opened).toBeGreaterThanOrEqual(4);
  });
});
