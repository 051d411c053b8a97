import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { bucketId, deviceId, orgId } from '../record/ids.js';
import { deriveBucketKeyPair, generateBucketKeyPair } from './bucket-key.js';
import { RandomSaltPool, RecordCipher } from './record-cipher.js';
import {
  createSessionSealer,
  decodeWrappedSessionKey,
  encodeWrappedSessionKey,
  openSessionKey,
  sessionKeyIdOf,
} from './session-key.js';
import { RECORD_KEY_LABEL, SEALED_BODY_OVERHEAD } from './seal-params.js';

const ctx = { org: orgId('org-1'), device: deviceId('dev-1'), bucket: bucketId('bkt-2025') };
const codeOf = async (p: Promise<unknown> | (() => unknown)): Promise<string> => {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof CustosError) return e.code;
    return `not a CustosError: ${String(e)}`;
  }
  return 'no error';
};

describe('RecordCipher', () => {
  it('derives record keys as HMAC-SHA256(session key, label || 0x00 || salt)', () => {
    const k = randomBytes(32);
    const salt = randomBytes(16);
    const expected = createHmac('sha256', k)
      .update(RECORD_KEY_LABEL + '\u0000')
      .update(salt)
      .digest('hex');
    expect(new RecordCipher(k).deriveRecordKey(salt).toString('hex')).toBe(expected);
  });

  it('round-trips, and fails on any bit flip of the sealed body or the header', () => {
    const c = new RecordCipher(randomBytes(32));
    const header = randomBytes(40);
    const body = randomBytes(64);
    const sealed = c.seal(new RandomSaltPool(), header, body);
    expect(sealed.length).toBe(body.length + SEALED_BODY_OVERHEAD);
    expect(Buffer.from(c.open(header, sealed)).equals(body)).toBe(true);
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const t = Uint8Array.from(sealed);
      t[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => c.open(header, t)).toThrow(expect.objectContaining({ code: 'DECRYPTION_FAILED' }));
    }
    for (let bit = 0; bit < header.length * 8; bit++) {
      const t = Uint8Array.from(header);
      t[bit >> 3]! ^= 1 << (bit & 7);
      expect(() => c.open(t, sealed)).toThrow(expect.objectContaining({ code: 'DECRYPTION_FAILED' }));
    }
    expect(() => c.open(header, sealed.subarray(0, 31))).toThrow(
      expect.objectContaining({ code: 'MALFORMED_RECORD' }),
    );
  });

  it('refuses to work after destroy', () => {
    const c = new RecordCipher(randomBytes(32));
    c.destroy();
    expect(() => c.deriveRecordKey(randomBytes(16))).toThrow(CustosError);
  });

  it('hands out distinct salts across pool refills', () => {
    const pool = new RandomSaltPool();
    const seen = new Set<string>();
    const salt = new Uint8Array(16);
    for (let i = 0; i < 1000; i++) {
      pool.nextInto(salt, 0);
      seen.add(Buffer.from(salt).toString('hex'));
    }
    expect(seen.size).toBe(1000);
  });
});

describe('session keys', () => {
  it('wraps to a bucket key and opens with its private key; records seal and open across the two', async () => {
    const bucket = await generateBucketKeyPair();
    const sealer = await createSessionSealer(bucket.publicKey, ctx);
    expect(Buffer.from(sealer.keyId).equals(Buffer.from(sessionKeyIdOf(sealer.wrappedKey)))).toBe(true);
    const opener = await openSessionKey(bucket.privateKey, sealer.wrappedKey);
    expect(opener.context).toEqual(ctx);
    const header = Buffer.from('header');
    const sealed = sealer.sealBody(header, Buffer.from('hello'));
    expect(Buffer.from(opener.openBody(header, sealed)).toString()).toBe('hello');
    // Two records under one session key never share salt, so never share key and nonce.
    expect(Buffer.from(sealer.sealBody(header, Buffer.from('hello'))).equals(Buffer.from(sealed))).toBe(
      false,
    );
  });

  it('round-trips the wrapped key encoding', async () => {
    const bucket = await generateBucketKeyPair();
    const sealer = await createSessionSealer(bucket.publicKey, ctx);
    const w = decodeWrappedSessionKey(sealer.wrappedKey);
    expect(w.context).toEqual(ctx);
    expect(Buffer.from(encodeWrappedSessionKey(w)).equals(Buffer.from(sealer.wrappedKey))).toBe(true);
  });

  it('a different bucket key cannot open it', async () => {
    const bucket = await generateBucketKeyPair();
    const other = await deriveBucketKeyPair(new Uint8Array(32).fill(7));
    const sealer = await createSessionSealer(bucket.publicKey, ctx);
    expect(await codeOf(openSessionKey(other.privateKey, sealer.wrappedKey))).toBe('DECRYPTION_FAILED');
  });

  it('every single-bit flip of the wrapped key fails with MALFORMED_RECORD, UNSUPPORTED_VERSION or DECRYPTION_FAILED', async () => {
    const bucket = await generateBucketKeyPair();
    const sealer = await createSessionSealer(bucket.publicKey, ctx);
    const counts = new Map<string, number>();
    for (let bit = 0; bit < sealer.wrappedKey.length * 8; bit++) {
      const t = Uint8Array.from(sealer.wrappedKey);
      t[bit >> 3]! ^= 1 << (bit & 7);
      const code = await codeOf(openSessionKey(bucket.privateKey, t));
      expect(['MALFORMED_RECORD', 'UNSUPPORTED_VERSION', 'DECRYPTION_FAILED'], `bit ${bit}`).toContain(code);
      counts.set(code, (counts.get(code) ?? 0) + 1);
    }
    // Flips inside enc and ct (80 bytes) all reach HPKE.
    expect(counts.get('DECRYPTION_FAILED')).toBeGreaterThanOrEqual(80 * 8);
  }, 60_000);

  it('rejects oversized, malformed and wrong-version wrapped keys with typed errors', async () => {
    const bucket = await generateBucketKeyPair();
    expect(await codeOf(openSessionKey(bucket.privateKey, new Uint8Array(600)))).toBe('OVERSIZED_INPUT');
    expect(await codeOf(openSessionKey(bucket.privateKey, new Uint8Array([0xa0])))).toBe('MALFORMED_RECORD');
    const sealer = await createSessionSealer(bucket.publicKey, ctx);
    const w = decodeWrappedSessionKey(sealer.wrappedKey);
    const { encodeDeterministic } = await import('../record/deterministic-cbor.js');
    const v2 = encodeDeterministic({
      v: 2,
      org: w.context.org,
      dev: w.context.device,
      bkt: w.context.bucket,
      enc: w.enc,
      ct: w.ct,
    });
    expect(await codeOf(openSessionKey(bucket.privateKey, v2))).toBe('UNSUPPORTED_VERSION');
    const extra = encodeDeterministic({ v: 1, org: 'o', dev: 'd', bkt: 'b', enc: w.enc, ct: w.ct, x: 1 });
    expect(await codeOf(openSessionKey(bucket.privateKey, extra))).toBe('MALFORMED_RECORD');
  });

  it('rejects bad key and context inputs', async () => {
    expect(await codeOf(deriveBucketKeyPair(new Uint8Array(8)))).toBe('INVALID_ARGUMENT');
    const bucket = await generateBucketKeyPair();
    const bad = { ...ctx, org: 'has space' } as unknown as typeof ctx;
    expect(await codeOf(createSessionSealer(bucket.publicKey, bad))).toBe('INVALID_ARGUMENT');
  });
});
