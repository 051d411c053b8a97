import {
  deriveBucketIndexKeyBytes,
  deriveTokens,
  encodeDeterministicCbor,
  decodeStrictCbor,
  generateBucketKeyPair,
  generateIndexSecret,
  isCustosError,
  createSessionSealer,
  openSessionKey,
  BlindIndexKey,
  type BucketId,
  type DeviceId,
  type OrgId,
} from '@custos/core';
import { describe, expect, it } from 'vitest';
import { officerRecipient, parseBucketKeyWrap, unwrapBucketKey, wrapBucketKey } from './bucket-key-wrap.js';

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isCustosError(e) ? e.code : 'not a CustosError';
  }
}

describe('bucket-key wraps', async () => {
  const bucket = await generateBucketKeyPair();
  const officer = await generateBucketKeyPair();
  const other = await generateBucketKeyPair();
  const secret = generateIndexSecret();
  const ik = deriveBucketIndexKeyBytes(secret, 'standard-2026-03');
  const info = { org: 'org-1', bucket: 'standard-2026-03', to: officerRecipient(2) } as const;

  it('unwraps to a private key that opens what devices sealed to the bucket, and the same index key', async () => {
    const blob = await wrapBucketKey(info, bucket.privateKey, ik, officer.publicKey);
    const w = await unwrapBucketKey(blob, officer.privateKey);
    expect([w.org, w.bucket, w.to]).toEqual(['org-1', 'standard-2026-03', 'officer-2']);
    // The unwrapped key opens a session key a device wrapped to the bucket public key.
    const ctx = {
      org: 'org-1' as OrgId,
      device: 'dev-1' as DeviceId,
      bucket: 'standard-2026-03' as BucketId,
    };
    const sealer = await createSessionSealer(bucket.publicKey, ctx);
    await expect(openSessionKey(w.privateKey, sealer.wrappedKey)).resolves.toBeDefined();
    await expect(openSessionKey(other.privateKey, sealer.wrappedKey)).rejects.toThrow();
    expect(deriveTokens(w.indexKey, 'term', ['budget'])).toEqual(
      deriveTokens(BlindIndexKey.fromBytes(ik), 'term', ['budget']),
    );
  });

  it('does not open with another key', async () => {
    const blob = await wrapBucketKey(info, bucket.privateKey, ik, officer.publicKey);
    expect(await codeOf(unwrapBucketKey(blob, other.privateKey))).toBe('DECRYPTION_FAILED');
  });

  it('fails when moved to another bucket, org or recipient (the aad binds them)', async () => {
    const blob = await wrapBucketKey(info, bucket.privateKey, ik, officer.publicKey);
    const m = decodeStrictCbor(blob, 'w', 'MALFORMED_INPUT') as Record<string, unknown>;
    for (const [k, v] of [
      ['bkt', 'standard-2026-04'],
      ['org', 'org-2'],
      ['to', 'officer-1'],
    ] as const) {
      const moved = encodeDeterministicCbor({ ...m, [k]: v });
      expect(await codeOf(unwrapBucketKey(moved, officer.privateKey)), k).toBe('DECRYPTION_FAILED');
    }
  });

  it('fails on any flipped ciphertext byte', async () => {
    const blob = await wrapBucketKey(info, bucket.privateKey, ik, officer.publicKey);
    const w = parseBucketKeyWrap(blob);
    for (const i of [0, 17, w.ct.length - 1]) {
      const ct = Uint8Array.from(w.ct);
      ct[i]! ^= 0x80;
      const bad = encodeDeterministicCbor({
        v: 1,
        typ: 'bucket-key-wrap',
        org: w.org,
        bkt: w.bucket,
        to: w.to,
        enc: w.enc,
        ct,
      });
      expect(await codeOf(unwrapBucketKey(bad, officer.privateKey))).toBe('DECRYPTION_FAILED');
    }
  });

  it('refuses malformed blobs with MALFORMED_INPUT before any decryption', async () => {
    const blob = await wrapBucketKey(info, bucket.privateKey, ik, officer.publicKey);
    const m = decodeStrictCbor(blob, 'w', 'MALFORMED_INPUT') as Record<string, unknown>;
    const cases: Uint8Array[] = [
      new Uint8Array([0xa0]),
      new Uint8Array(2000),
      encodeDeterministicCbor({ ...m, v: 2 }),
      encodeDeterministicCbor({ ...m, to: 'officer-x' }),
      encodeDeterministicCbor({ ...m, enc: new Uint8Array(31) }),
      encodeDeterministicCbor({ ...m, extra: 1 }),
    ];
    for (const c of cases)
      expect(await codeOf(unwrapBucketKey(c, officer.privateKey))).toBe('MALFORMED_INPUT');
  });
});
