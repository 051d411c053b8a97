import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { generateBucketKeyPair } from '../seal/bucket-key.js';
import { createSessionSealer, openSessionKey } from '../seal/session-key.js';
import type { SessionSealer } from '../seal/session-key.js';
import { deviceId, genesisPrevHash, toHex } from './ids.js';
import type { RecordHash } from './ids.js';
import { decodeBody, encodeBody } from './body.js';
import {
  frameRecord,
  openRecord,
  openRecordBytes,
  openRecordBytesStrict,
  parseRecord,
  recordHashOf,
  sealRecord,
} from './record.js';
import type { SealedRecord } from './record.js';
import { verifyChain } from './chain.js';
import { CTX, fullBody, minimalBody } from './testing-fixtures.test-data.js';

const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return e instanceof CustosError ? e.code : `raw ${String(e)}`;
  }
};

async function setup() {
  const bucket = await generateBucketKeyPair();
  const sealer = await createSessionSealer(bucket.publicKey, CTX);
  const opener = await openSessionKey(bucket.privateKey, sealer.wrappedKey);
  return { bucket, sealer, opener };
}

function chain(sealer: SessionSealer, n: number): SealedRecord[] {
  const out: SealedRecord[] = [];
  let prev: RecordHash = genesisPrevHash();
  for (let seq = 0; seq < n; seq++) {
    const r = sealRecord(
      sealer,
      { ...CTX, seq, prev, tokens: [randomBytes(16)], attachmentBytes: 0 },
      fullBody({ messageId: `m${seq}` }),
    );
    out.push(r);
    prev = r.hash;
  }
  return out;
}

describe('archive records', () => {
  it('a record listing blob ids seals with them in its header ("att") and opens, fast path or strict', async () => {
    const { sealer, opener } = await setup();
    const ids = [randomBytes(32).toString('hex'), randomBytes(32).toString('hex')];
    const body = fullBody();
    const r = sealRecord(
      sealer,
      {
        ...CTX,
        seq: 0,
        prev: genesisPrevHash(),
        tokens: [],
        attachmentBytes: 7,
        blobIds: [ids[1]!, ids[0]!, ids[1]!],
      },
      body,
    );
    const sorted = [...ids].sort();
    expect(r.header.blobIds).toEqual(sorted);
    expect(parseRecord(r.bytes).header.blobIds).toEqual(sorted);
    const opened = openRecord(opener, r.bytes);
    expect(opened.header.blobIds).toEqual(sorted);
    expect(Buffer.from(encodeBody(opened.body)).equals(Buffer.from(encodeBody(body)))).toBe(true);
    expect(openRecordBytesStrict(opener, r.bytes).header.blobIds).toEqual(sorted);
    // The ids are covered by the AEAD: flipping one hex digit of one fails to open.
    const at = Buffer.from(r.bytes).indexOf(Buffer.from(sorted[0]!));
    const forged = Uint8Array.from(r.bytes);
    forged[at] = forged[at] === 0x30 ? 0x31 : 0x30;
    expect(codeOf(() => openRecord(opener, forged))).toBe('DECRYPTION_FAILED');
    // Without ids the header has no "att" (the template path).
    const plain = sealRecord(
      sealer,
      { ...CTX, seq: 0, prev: genesisPrevHash(), tokens: [], attachmentBytes: 0, blobIds: [] },
      body,
    );
    expect(plain.header.blobIds).toBeUndefined();
    expect(
      codeOf(() =>
        sealRecord(
          sealer,
          { ...CTX, seq: 0, prev: genesisPrevHash(), tokens: [], attachmentBytes: 0, blobIds: ['x'] },
          body,
        ),
      ),
    ).toBe('MALFORMED_RECORD');
  });

  it('seal then open returns header and body; the hash is SHA-256 of the bytes', async () => {
    const { sealer, opener } = await setup();
    const body = fullBody();
    const tokens = [randomBytes(16), randomBytes(16), randomBytes(16)];
    const r = sealRecord(
      sealer,
      { ...CTX, seq: 0, prev: genesisPrevHash(), tokens: [...tokens, tokens[0]!], attachmentBytes: 123_456 },
      body,
    );
    expect(toHex(r.hash)).toBe(toHex(recordHashOf(r.bytes)));
    const opened = openRecord(opener, r.bytes);
    expect(opened.body).toEqual(decodeBody(encodeBody(body)));
    expect(opened.header.tokens.length).toBe(3);
    expect(opened.header.sessionKeyId).toEqual(new Uint8Array(sealer.keyId));
    expect(opened.header.sealedBodyBytes).toBe(encodeBody(body).length + 32);
    const min = sealRecord(
      sealer,
      { ...CTX, seq: 1, prev: r.hash, tokens: [], attachmentBytes: 0 },
      minimalBody(),
    );
    expect(openRecord(opener, min.bytes).body).toEqual(minimalBody());
  });

  it('every single-bit flip of a record fails: header flips with a parse or auth error, body flips with DECRYPTION_FAILED', async () => {
    const { sealer, opener } = await setup();
    const r = sealRecord(
      sealer,
      {
        ...CTX,
        seq: 3,
        prev: randomBytes(32) as Uint8Array as RecordHash,
        tokens: [randomBytes(16)],
        attachmentBytes: 5,
      },
      fullBody({ text: 'x'.repeat(100) }),
    );
    const p = parseRecord(r.bytes);
    const headerStart = r.bytes.length - p.sealedBody.length - 3 - p.headerBytes.length; // after 0x82 and the 2- or 3-byte bstr head
    const bodyStart = r.bytes.length - p.sealedBody.length;
    const seen = new Map<string, number>();
    for (let bit = 0; bit < r.bytes.length * 8; bit++) {
      const t = Uint8Array.from(r.bytes);
      t[bit >> 3]! ^= 1 << (bit & 7);
      const code = codeOf(() => openRecordBytes(opener, t));
      const at = bit >> 3;
      if (at >= bodyStart) expect(code, `body bit ${bit}`).toBe('DECRYPTION_FAILED');
      else
        expect(
          [
            'MALFORMED_RECORD',
            'UNSUPPORTED_VERSION',
            'HASH_MISMATCH',
            'DECRYPTION_FAILED',
            'OVERSIZED_INPUT',
          ],
          `bit ${bit}`,
        ).toContain(code);
      seen.set(code, (seen.get(code) ?? 0) + 1);
    }
    expect(headerStart).toBeGreaterThan(0);
    expect(seen.get('HASH_MISMATCH')).toBe(32 * 8); // every flip inside "skey"
    expect(seen.get('accepted')).toBeUndefined();
  });

  it('a record does not open under another bucket or session key', async () => {
    const a = await setup();
    const b = await setup();
    const r = chain(a.sealer, 1)[0]!;
    expect(codeOf(() => openRecord(b.opener, r.bytes))).toBe('HASH_MISMATCH');
    await expect(openSessionKey(b.bucket.privateKey, a.sealer.wrappedKey)).rejects.toMatchObject({
      code: 'DECRYPTION_FAILED',
    });
  });

  it('refuses mismatched context, size and framing', async () => {
    const { sealer } = await setup();
    expect(
      codeOf(() =>
        sealRecord(
          sealer,
          {
            ...CTX,
            device: deviceId('other'),
            seq: 0,
            prev: genesisPrevHash(),
            tokens: [],
            attachmentBytes: 0,
          },
          minimalBody(),
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
    const r = chain(sealer, 1)[0]!;
    const p = parseRecord(r.bytes);
    expect(codeOf(() => parseRecord(frameRecord(p.headerBytes, p.sealedBody.subarray(1))))).toBe(
      'MALFORMED_RECORD',
    );
    expect(codeOf(() => parseRecord(new Uint8Array(2_000_000)))).toBe('OVERSIZED_INPUT');
    expect(codeOf(() => parseRecord(Buffer.concat([r.bytes, Buffer.from([0])])))).toBe('MALFORMED_RECORD');
    expect(codeOf(() => parseRecord(new Uint8Array(0)))).toBe('MALFORMED_RECORD');
  });
});

describe('record sealing: tokens', () => {
  it('sorts and de-duplicates tokens, and refuses bad ones with the header checks', async () => {
    const { sealer, opener } = await setup();
    const [a, b] = [randomBytes(16), randomBytes(16)].sort((x, y) => Buffer.compare(x, y));
    const seal = (tokens: Uint8Array[]) =>
      sealRecord(
        sealer,
        { ...CTX, seq: 0, prev: genesisPrevHash(), tokens, attachmentBytes: 0 },
        minimalBody(),
      );
    const r = seal([b!, a!, b!]);
    expect(r.header.tokens.map(toHex)).toEqual([a!, b!].map(toHex));
    expect(openRecordBytes(opener, r.bytes).header.tokens.map(toHex)).toEqual([a!, b!].map(toHex));
    const msg = (f: () => unknown) => {
      try {
        f();
        return 'accepted';
      } catch (e) {
        return e instanceof CustosError ? `${e.code}: ${e.message}` : `raw ${String(e)}`;
      }
    };
    expect(msg(() => seal([a!, new Uint8Array(15)]))).toMatch(
      /^MALFORMED_RECORD: .*token [01] is not 16 bytes/,
    );
    expect(msg(() => seal([new Uint8Array(17)]))).toMatch(/^MALFORMED_RECORD: .*token 0 is not 16 bytes/);
  });
});

describe('record opening: the template fast path against the strict path', () => {
  const outcome = (f: () => { header: unknown; bodyBytes: Uint8Array }): string => {
    try {
      const r = f();
      const h = r.header as { tokens: readonly Uint8Array[] };
      return `ok ${JSON.stringify({ ...h, tokens: h.tokens })} ${toHex(r.bodyBytes)}`;
    } catch (e) {
      return e instanceof CustosError ? `${e.code}: ${e.message}` : `raw ${String(e)}`;
    }
  };

  it('gives the same header and body, or the same error, for every byte change of framing and header', async () => {
    const { sealer, opener } = await setup();
    const other = await setup();
    const [r0, r1] = chain(sealer, 2);
    for (const rec of [r0!.bytes, r1!.bytes]) {
      const headerEnd = parseRecord(rec).headerBytes.length + 8;
      const inputs: Uint8Array[] = [
        rec,
        rec.subarray(0, rec.length - 1),
        Buffer.concat([rec, Buffer.alloc(1)]),
      ];
      for (let at = 0; at < headerEnd; at++) {
        for (const v of [
          0,
          0x01,
          0x18,
          0x1b,
          0x40,
          0x58,
          0x59,
          0x60,
          0x82,
          0xff,
          rec[at]! ^ 1,
          rec[at]! ^ 0x80,
        ]) {
          const t = Uint8Array.from(rec);
          t[at] = v;
          inputs.push(t);
        }
        inputs.push(rec.subarray(0, at));
      }
      let opened = 0;
      for (const input of inputs) {
        for (const o of [opener, other.opener]) {
          const fast = outcome(() => openRecordBytes(o, input));
          expect(fast.startsWith('raw')).toBe(false);
          expect(fast).toBe(outcome(() => openRecordBytesStrict(o, input)));
          if (fast.startsWith('ok')) opened++;
        }
      }
      // The unchanged record, and changes that reproduce it, open under their own key.
      expect(opened).toBeGreaterThanOrEqual(1);
    }
  });

  it('opens records whose header sizes need longer integers (large seq and attachment sizes)', async () => {
    const { sealer, opener } = await setup();
    for (const [seq, asz] of [
      [24, 255],
      [70_000, 2 ** 33],
      [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
    ] as const) {
      const r = sealRecord(
        sealer,
        { ...CTX, seq, prev: randomBytes(32) as Uint8Array as RecordHash, tokens: [], attachmentBytes: asz },
        minimalBody(),
      );
      const fast = outcome(() => openRecordBytes(opener, r.bytes));
      expect(fast.startsWith('ok')).toBe(true);
      expect(fast).toBe(outcome(() => openRecordBytesStrict(opener, r.bytes)));
    }
  });
});

describe('record chains', () => {
  it('accepts an unbroken chain and continues from an anchor', async () => {
    const { sealer } = await setup();
    const rs = chain(sealer, 6);
    const links = verifyChain(rs.map((r) => r.bytes));
    expect(links.map((l) => l.header.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(
      verifyChain(
        rs.slice(3).map((r) => r.bytes),
        { seq: 2, hash: rs[2]!.hash },
      ),
    ).toHaveLength(3);
    expect(verifyChain([])).toEqual([]);
  });

  it('names the expected sequence number on a gap, a repeat, a fork and a wrong start', async () => {
    const { sealer } = await setup();
    const rs = chain(sealer, 5).map((r) => r.bytes);
    const msg = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(CustosError);
        expect((e as CustosError).code).toBe('CHAIN_BROKEN');
        return (e as CustosError).message;
      }
      return 'accepted';
    };
    expect(msg(() => verifyChain([rs[0]!, rs[1]!, rs[3]!]))).toMatch(
      /expected sequence number 2, found 3 \(gap\)/,
    );
    expect(msg(() => verifyChain([rs[0]!, rs[1]!, rs[1]!]))).toMatch(/expected sequence number 2, found 1/);
    expect(msg(() => verifyChain([rs[1]!]))).toMatch(/expected sequence number 0/);
    // A fork: a second record 2 sealed on top of record 1, then record 3 of the original chain.
    const fork = sealRecord(
      sealer,
      { ...CTX, seq: 2, prev: recordHashOf(rs[1]!), tokens: [], attachmentBytes: 0 },
      minimalBody(),
    );
    expect(msg(() => verifyChain([rs[0]!, rs[1]!, fork.bytes, rs[3]!]))).toMatch(
      /expected sequence number 3 to link to .* \(fork\)/,
    );
    expect(msg(() => verifyChain([rs[3]!], { seq: 2, hash: recordHashOf(rs[1]!) }))).toMatch(
      /expected sequence number 3 .*fork/,
    );
  });
});
