import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isClientError } from '../errors.js';
import { blobLength, decryptAttachment, encryptAttachment, paddedLength } from './attachments.js';

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (e) {
    return isClientError(e) ? e.code : 'OTHER';
  }
};

describe('attachment encryption', () => {
  it('round-trips any file; blob id is the hex digest; padding hides the exact size', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4000 }), (bytes) => {
        const { blob, pointer } = encryptAttachment(bytes, { contentType: 'a/b', fileName: 'f' });
        expect(blob.length).toBe(blobLength(bytes.length));
        expect(pointer.blobId).toBe(Buffer.from(pointer.digest).toString('hex'));
        expect(Buffer.from(decryptAttachment(blob, pointer)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 50 },
    );
    expect(paddedLength(0)).toBe(541);
    expect(paddedLength(10_000)).toBeGreaterThanOrEqual(10_000);
    expect(paddedLength(10_000)).toBeLessThan(10_500);
  });

  it('uses a fresh key and nonce each time', () => {
    const a = encryptAttachment(new Uint8Array(10), { contentType: 'x/y' });
    const b = encryptAttachment(new Uint8Array(10), { contentType: 'x/y' });
    expect(Buffer.from(a.pointer.key).equals(Buffer.from(b.pointer.key))).toBe(false);
    expect(a.pointer.blobId).not.toBe(b.pointer.blobId);
  });

  it('refuses tampering: digest mismatch, wrong length, wrong key', () => {
    const { blob, pointer } = encryptAttachment(randomBytes(700), { contentType: 'x/y' });
    const flipped = Uint8Array.from(blob);
    flipped[20]! ^= 1;
    expect(code(() => decryptAttachment(flipped, pointer))).toBe('ATTACHMENT_DIGEST_MISMATCH');
    expect(code(() => decryptAttachment(blob, { ...pointer, size: 5000 }))).toBe('ATTACHMENT_INVALID');
    expect(code(() => decryptAttachment(blob, { ...pointer, key: randomBytes(32) }))).toBe(
      'ATTACHMENT_INVALID',
    );
    expect(code(() => encryptAttachment(new Uint8Array(1), { contentType: '' }))).toBe('ATTACHMENT_INVALID');
  });
});
