/**
 * Opening a record with its own record key alone (custody manifest v2): against the
 * published vectors (docs/vectors/archive-record-v1.json carries each record's key), the
 * key an opener derives equals HMAC-SHA256 computed independently, and tampering — a wrong
 * key, another record's key, one flipped byte of header, ciphertext or tag — fails.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { generateBucketKeyPair } from '../seal/bucket-key.js';
import { openWithRecordKey } from '../seal/record-cipher.js';
import { RECORD_KEY_LABEL, RECORD_SALT_LENGTH } from '../seal/seal-params.js';
import { createSessionSealer, openSessionKey } from '../seal/session-key.js';
import { encodeBody, type RecordBody } from './body.js';
import { genesisPrevHash } from './ids.js';
import { openRecord, parseRecord, sealRecord, type SealedRecord } from './record.js';
import { openRecordBytesWithKey, openRecordWithKey, recordKeyOf } from './record-key.js';
import { CTX, fullBody, minimalBody } from './testing-fixtures.test-data.js';

const FILE = fileURLToPath(new URL('../../../../docs/vectors/archive-record-v1.json', import.meta.url));
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));

const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'accepted';
  } catch (e) {
    return e instanceof CustosError ? e.code : `raw ${String(e)}`;
  }
};

async function sealedPair(): Promise<{
  sessionKeyOpener: Awaited<ReturnType<typeof openSessionKey>>;
  records: SealedRecord[];
  bodies: RecordBody[];
}> {
  const bucket = await generateBucketKeyPair();
  const sealer = await createSessionSealer(bucket.publicKey, CTX);
  const sessionKeyOpener = await openSessionKey(bucket.privateKey, sealer.wrappedKey);
  const bodies = [fullBody(), minimalBody()];
  const a = sealRecord(
    sealer,
    { ...CTX, seq: 0, prev: genesisPrevHash(), tokens: [randomBytes(16)], attachmentBytes: 0 },
    bodies[0]!,
  );
  const b = sealRecord(sealer, { ...CTX, seq: 1, prev: a.hash, tokens: [], attachmentBytes: 0 }, bodies[1]!);
  return { sessionKeyOpener, records: [a, b], bodies };
}

describe('openWithRecordKey against the published vectors', () => {
  const file = JSON.parse(readFileSync(FILE, 'utf8')) as {
    records: { recordKey: string; header: string; sealedBody: string; bodyBytes: string; record: string }[];
  };

  it('opens every vector record with its recordKey alone', () => {
    expect(file.records.length).toBeGreaterThan(0);
    for (const v of file.records) {
      const pt = openWithRecordKey(hex(v.recordKey), hex(v.header), hex(v.sealedBody));
      expect(Buffer.from(pt).toString('hex')).toBe(v.bodyBytes);
      expect(
        Buffer.from(openRecordBytesWithKey(hex(v.recordKey), hex(v.record)).bodyBytes).toString('hex'),
      ).toBe(v.bodyBytes);
    }
  });

  it('fails with DECRYPTION_FAILED on one flipped byte of header, ciphertext or tag, and on a wrong key', () => {
    const v = file.records[0]!;
    const key = hex(v.recordKey);
    const header = hex(v.header);
    const sealed = hex(v.sealedBody);
    const flip = (b: Uint8Array, at: number): Uint8Array => {
      const t = Uint8Array.from(b);
      t[at]! ^= 0x01;
      return t;
    };
    for (const at of [0, header.length >> 1, header.length - 1])
      expect(codeOf(() => openWithRecordKey(key, flip(header, at), sealed))).toBe('DECRYPTION_FAILED');
    // Ciphertext (first byte after the salt, a middle one) and tag (first and last byte).
    for (const at of [
      RECORD_SALT_LENGTH,
      (sealed.length + RECORD_SALT_LENGTH) >> 1,
      sealed.length - 16,
      sealed.length - 1,
    ])
      expect(codeOf(() => openWithRecordKey(key, header, flip(sealed, at)))).toBe('DECRYPTION_FAILED');
    expect(codeOf(() => openWithRecordKey(flip(key, 7), header, sealed))).toBe('DECRYPTION_FAILED');
    expect(codeOf(() => openWithRecordKey(randomBytes(32), header, sealed))).toBe('DECRYPTION_FAILED');
    expect(codeOf(() => openWithRecordKey(key.subarray(0, 31), header, sealed))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => openWithRecordKey(key, header, sealed.subarray(0, 31)))).toBe('MALFORMED_RECORD');
  });

  it('does not authenticate the salt: the salt only derived the key (the record hash binds it)', () => {
    const v = file.records[0]!;
    const sealed = hex(v.sealedBody);
    sealed[3]! ^= 0x01;
    const pt = openWithRecordKey(hex(v.recordKey), hex(v.header), sealed);
    expect(Buffer.from(pt).toString('hex')).toBe(v.bodyBytes);
  });
});

describe('recordKeyOf and openRecordWithKey', () => {
  it('derives HMAC-SHA256(session key, label || 0x00 || salt) per record, which opens that record alone', async () => {
    const { sessionKeyOpener: opener, records, bodies } = await sealedPair();
    const [a, b] = records as [SealedRecord, SealedRecord];
    const ka = recordKeyOf(opener, a.bytes);
    const kb = recordKeyOf(opener, b.bytes);
    expect(Buffer.from(ka).equals(Buffer.from(kb))).toBe(false);
    // Same body as the session-key opener decodes, and the same plaintext bytes.
    const viaKey = openRecordWithKey(ka, a.bytes);
    expect(viaKey.body).toEqual(openRecord(opener, a.bytes).body);
    expect(Buffer.from(encodeBody(viaKey.body)).equals(Buffer.from(encodeBody(bodies[0]!)))).toBe(true);
    expect([viaKey.header.org, viaKey.header.device, viaKey.header.seq]).toEqual([
      a.header.org,
      a.header.device,
      0,
    ]);
    expect(openRecordWithKey(kb, b.bytes).body).toEqual(bodies[1]);
    // Swapped keys fail.
    expect(codeOf(() => openRecordWithKey(kb, a.bytes))).toBe('DECRYPTION_FAILED');
    expect(codeOf(() => openRecordWithKey(ka, b.bytes))).toBe('DECRYPTION_FAILED');
  });

  it('is the HMAC an independent implementation computes (vector session key)', () => {
    const file = JSON.parse(readFileSync(FILE, 'utf8')) as {
      session: { sessionKey: string };
      records: { recordKey: string; salt: string; sealedBody: string }[];
    };
    for (const v of file.records) {
      expect(v.sealedBody.slice(0, 2 * RECORD_SALT_LENGTH)).toBe(v.salt);
      const mac = createHmac('sha256', hex(file.session.sessionKey))
        .update(`${RECORD_KEY_LABEL}\u0000`)
        .update(hex(v.salt))
        .digest('hex');
      expect(mac).toBe(v.recordKey);
    }
  });

  it('refuses a record of another session key, and names a flipped record byte', async () => {
    const one = await sealedPair();
    const two = await sealedPair();
    const a = one.records[0]!;
    expect(codeOf(() => recordKeyOf(two.sessionKeyOpener, a.bytes))).toBe('HASH_MISMATCH');
    const key = recordKeyOf(one.sessionKeyOpener, a.bytes);
    const p = parseRecord(a.bytes);
    const sealedAt = a.bytes.length - p.sealedBody.length;
    const t = Uint8Array.from(a.bytes);
    t[sealedAt + RECORD_SALT_LENGTH + 2]! ^= 0x80;
    expect(codeOf(() => openRecordWithKey(key, t))).toBe('DECRYPTION_FAILED');
  });
});
