import { randomBytes } from 'node:crypto';
import { PrivateKey } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import { CustosError } from '../errors.js';
import { deviceId, orgId } from '../record/ids.js';
import type { RecordHash } from '../record/ids.js';
import { encodeBatchMessage, signBatch, verifyBatch } from './batch-signature.js';
import type { RecordBatch } from './batch-signature.js';

const batch = (n = 3): RecordBatch => ({
  org: orgId('org-acme'),
  device: deviceId('dev-1'),
  firstSeq: 41,
  hashes: Array.from({ length: n }, () => randomBytes(32) as Uint8Array as RecordHash),
});
const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'verified';
  } catch (e) {
    return e instanceof CustosError ? e.code : `raw ${String(e)}`;
  }
};

describe('batch signatures', () => {
  it('encodes the documented message layout', () => {
    const b = batch(2);
    const m = Buffer.from(encodeBatchMessage(b));
    const expected = Buffer.concat([
      Buffer.from('custos-archive-v1 batch-signature\u0000'),
      Buffer.from([0, 8]),
      Buffer.from('org-acme'),
      Buffer.from([0, 5]),
      Buffer.from('dev-1'),
      Buffer.from([0, 0, 0, 0, 0, 0, 0, 41]),
      Buffer.from([0, 0, 0, 2]),
      ...b.hashes,
    ]);
    expect(m.equals(expected)).toBe(true);
  });

  it('signs with the identity key and verifies with its 33-byte public key; signatures are randomised', () => {
    const k = PrivateKey.generate();
    const pub = k.getPublicKey().serialize();
    expect(pub.length).toBe(33);
    expect(pub[0]).toBe(0x05);
    const b = batch();
    const s1 = signBatch(k, b);
    const s2 = signBatch(k, b);
    expect(Buffer.from(s1).equals(Buffer.from(s2))).toBe(false);
    expect(codeOf(() => verifyBatch(pub, b, s1))).toBe('verified');
    expect(codeOf(() => verifyBatch(pub, b, s2))).toBe('verified');
  });

  it('every single-bit flip of the signature or the signed fields fails with SIGNATURE_INVALID', () => {
    const k = PrivateKey.generate();
    const pub = k.getPublicKey().serialize();
    const b = batch(2);
    const sig = signBatch(k, b);
    for (let bit = 0; bit < sig.length * 8; bit++) {
      const t = Uint8Array.from(sig);
      t[bit >> 3]! ^= 1 << (bit & 7);
      expect(
        codeOf(() => verifyBatch(pub, b, t)),
        `signature bit ${bit}`,
      ).toBe('SIGNATURE_INVALID');
    }
    for (let i = 0; i < b.hashes.length; i++) {
      for (let bit = 0; bit < 256; bit++) {
        const hashes = b.hashes.map((h) => Uint8Array.from(h) as RecordHash);
        hashes[i]![bit >> 3]! ^= 1 << (bit & 7);
        expect(codeOf(() => verifyBatch(pub, { ...b, hashes }, sig))).toBe('SIGNATURE_INVALID');
      }
    }
    expect(codeOf(() => verifyBatch(pub, { ...b, firstSeq: 42 }, sig))).toBe('SIGNATURE_INVALID');
    expect(codeOf(() => verifyBatch(pub, { ...b, device: deviceId('dev-2') }, sig))).toBe(
      'SIGNATURE_INVALID',
    );
    expect(codeOf(() => verifyBatch(pub, { ...b, org: orgId('org-acmf') }, sig))).toBe('SIGNATURE_INVALID');
    expect(codeOf(() => verifyBatch(pub, { ...b, hashes: b.hashes.slice(0, 1) }, sig))).toBe(
      'SIGNATURE_INVALID',
    );
    expect(codeOf(() => verifyBatch(PrivateKey.generate().getPublicKey().serialize(), b, sig))).toBe(
      'SIGNATURE_INVALID',
    );
    expect(codeOf(() => verifyBatch(pub, b, sig.subarray(1)))).toBe('SIGNATURE_INVALID');
  });

  it('every single-bit flip of the public key fails (SIGNATURE_INVALID, or INVALID_ARGUMENT when no longer a key)', () => {
    const k = PrivateKey.generate();
    const pub = k.getPublicKey().serialize();
    const b = batch(1);
    const sig = signBatch(k, b);
    for (let bit = 0; bit < pub.length * 8; bit++) {
      const t = Uint8Array.from(pub);
      t[bit >> 3]! ^= 1 << (bit & 7);
      expect(['SIGNATURE_INVALID', 'INVALID_ARGUMENT'], `key bit ${bit}`).toContain(
        codeOf(() => verifyBatch(t, b, sig)),
      );
    }
  });

  it('refuses malformed batches', () => {
    const k = PrivateKey.generate();
    expect(codeOf(() => signBatch(k, { ...batch(), hashes: [] }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => signBatch(k, { ...batch(), firstSeq: -1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => signBatch(k, { ...batch(), hashes: [new Uint8Array(31) as RecordHash] }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => verifyBatch(new Uint8Array(32), batch(), new Uint8Array(64)))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});
