import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { xaesSealReference, xaesSubkeyReference } from '../crypto/xaes-256-gcm-reference.test-data.js';
import { bucketId, deviceId, orgId } from '../record/ids.js';
import { deriveBucketKeyPair, generateBucketKeyPair } from './bucket-key.js';
import { RECORD_KEY_BATCH, RecordCipher } from './record-cipher.js';
import type { NonceSource } from './record-cipher.js';
import {
  createSessionSealer,
  decodeWrappedSessionKey,
  encodeWrappedSessionKey,
  openSessionKey,
  sessionKeyIdOf,
} from './session-key.js';
import { RECORD_NONCE_LENGTH, SEALED_BODY_OVERHEAD } from './seal-params.js';

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

/** Nonces 0, 1, 2, … as a NonceSource (each nonce's 24 bytes are the seed and its index). */
function countingNonces(seed: number): { source: NonceSource; drawn: Buffer[] } {
  const drawn: Buffer[] = [];
  return {
    drawn,
    source: {
      fill: (out) => {
        for (let at = 0; at < out.length; at += RECORD_NONCE_LENGTH) {
          const n = Buffer.alloc(RECORD_NONCE_LENGTH, seed);
          n.writeUInt32BE(drawn.length, 0);
          n.writeUInt32BE(drawn.length, 20);
          drawn.push(n);
          out.set(n, at);
        }
      },
    },
  };
}

describe('RecordCipher', () => {
  it("derives record keys as XAES-256-GCM's Kx of (session key, nonce)", async () => {
    const k = randomBytes(32);
    const nonce = randomBytes(RECORD_NONCE_LENGTH);
    expect(new RecordCipher(k).deriveRecordKey(nonce).toString('hex')).toBe(
      xaesSubkeyReference(k, nonce).kx.toString('hex'),
    );
    expect(await codeOf(() => new RecordCipher(k).deriveRecordKey(randomBytes(16)))).toBe('INVALID_ARGUMENT');
  });

  it('seals nonce || XAES-256-GCM(session key, nonce, body, aad), in nonce order across batch refills', () => {
    for (const keyBatch of [1, 3, RECORD_KEY_BATCH]) {
      const k = randomBytes(32);
      const { source, drawn } = countingNonces(keyBatch);
      const c = new RecordCipher(k, { nonces: source, keyBatch });
      const header = randomBytes(50);
      for (let i = 0; i < 7; i++) {
        const body = randomBytes(i * 10);
        const sealed = Buffer.from(c.seal(header, body));
        const nonce = drawn[i]!;
        expect(sealed.subarray(0, RECORD_NONCE_LENGTH).equals(nonce), `batch ${keyBatch} record ${i}`).toBe(
          true,
        );
        expect(sealed.subarray(RECORD_NONCE_LENGTH).equals(xaesSealReference(k, nonce, body, header))).toBe(
          true,
        );
      }
      expect(drawn.length).toBe(Math.ceil(7 / keyBatch) * keyBatch);
    }
  });

  it('round-trips, and fails on any bit flip of the sealed body (nonce included) or the header', () => {
    const c = new RecordCipher(randomBytes(32));
    const header = randomBytes(40);
    const body = randomBytes(64);
    const sealed = c.seal(header, body);
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
    expect(() => c.open(header, sealed.subarray(0, SEALED_BODY_OVERHEAD - 1))).toThrow(
      expect.objectContaining({ code: 'MALFORMED_RECORD' }),
    );
  });

  it('refuses to work after destroy, sealing included (the rest of a drawn batch is not used)', () => {
    const c = new RecordCipher(randomBytes(32));
    c.seal(new Uint8Array(0), new Uint8Array(1));
    c.destroy();
    expect(() => c.deriveRecordKey(randomBytes(RECORD_NONCE_LENGTH))).toThrow(CustosError);
    expect(() => c.seal(new Uint8Array(0), new Uint8Array(1))).toThrow(CustosError);
    expect(() => c.open(new Uint8Array(0), new Uint8Array(SEALED_BODY_OVERHEAD))).toThrow(CustosError);
  });

  it('rejects a bad key batch', () => {
    for (const keyBatch of [0, 1.5, 70_000])
      expect(() => new RecordCipher(randomBytes(32), { keyBatch })).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
  });

  it('draws distinct random nonces across batch refills', () => {
    const c = new RecordCipher(randomBytes(32));
    const seen = new Set<string>();
    for (let i = 0; i < 3 * RECORD_KEY_BATCH + 5; i++) {
      seen.add(
        Buffer.from(c.seal(new Uint8Array(0), new Uint8Array(0))).toString('hex', 0, RECORD_NONCE_LENGTH),
      );
    }
    expect(seen.size).toBe(3 * RECORD_KEY_BATCH + 5);
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
    // Two records under one session key draw fresh nonces, so never share key and nonce.
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
