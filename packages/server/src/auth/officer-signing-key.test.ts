/**
 * The officer key checks every officer-signed input goes through: the key is read only from a
 * well-formed officer-key document, and a signature counts only with that key, that message
 * and 64 bytes — never an exception, whatever the bytes.
 */
import { sign } from 'node:crypto';
import { encodeDeterministicCbor } from '@custos/core';
import { describe, expect, it } from 'vitest';
import type { OrgRecord } from '../store/records.js';
import { testOfficers } from '../testing/test-app.js';
import { officerSignatureVerifies, officerSigningKey } from './officer-signing-key.js';

describe('officer signing key', () => {
  const [a, b] = testOfficers(2);
  const org = (publicKeys: Buffer[]) =>
    ({ officers: publicKeys.map((publicKey, index) => ({ index, publicKey })) }) as unknown as OrgRecord;

  it("reads the sig key of a listed officer's document, null otherwise", () => {
    const key = officerSigningKey(org([a!.publicKey, b!.publicKey]), 1);
    expect(key).toHaveLength(32);
    expect(officerSigningKey(org([a!.publicKey]), 1)).toBeNull();
    const notOfficerKey = Buffer.from(encodeDeterministicCbor({ v: 1, typ: 'other', sig: Buffer.alloc(32) }));
    const shortSig = Buffer.from(
      encodeDeterministicCbor({ v: 1, typ: 'officer-key', sig: Buffer.alloc(31) }),
    );
    for (const doc of [notOfficerKey, shortSig, Buffer.from([0xff])])
      expect(officerSigningKey(org([doc]), 0)).toBeNull();
  });

  it('verifies only the signer, the message and a 64-byte signature', () => {
    const key = officerSigningKey(org([a!.publicKey]), 0)!;
    const message = Buffer.from('message');
    const good = sign(null, message, a!.signingKey);
    expect(officerSignatureVerifies(key, message, good)).toBe(true);
    expect(officerSignatureVerifies(key, Buffer.from('other'), good)).toBe(false);
    expect(officerSignatureVerifies(key, message, sign(null, message, b!.signingKey))).toBe(false);
    expect(officerSignatureVerifies(key, message, good.subarray(0, 63))).toBe(false);
    expect(officerSignatureVerifies(Buffer.alloc(5), message, good)).toBe(false);
  });
});
