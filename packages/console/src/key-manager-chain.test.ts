/**
 * The key-manager chain (docs/keys.md §5): links ordered by start, one per key, superseded at
 * the successor's start; an old key's bucket is valid only when it starts before its
 * rotation; a delegation not signed by the org key breaks the chain. And the key-manager wrap:
 * it opens only for its recipient, org and key.
 */
import {
  generateBucketKeyPair,
  isCustosError,
  sealBucketKeyDocument,
  sealKeyManagerDelegation,
} from '@custos/core';
import { describe, expect, it } from 'vitest';
import { buildDelegationChain, currentLink, verifyBucketUnderChain } from './key-manager-chain.js';
import { unwrapKeyManagerKey, wrapKeyManagerKey } from './key-manager-wrap.js';
import { SigningKey } from './signing-key.js';

const org = SigningKey.generate();
const oldKm = SigningKey.generate();
const newKm = SigningKey.generate();
const T0 = 1_700_000_000_000;
const ROTATED = 1_750_000_000_000;
const END = 1_800_000_000_000;
const oldDelegation = sealKeyManagerDelegation({ key: oldKm.publicKey, notBefore: T0, notAfter: END }, org);
const oldRenewed = sealKeyManagerDelegation({ key: oldKm.publicKey, notBefore: T0, notAfter: END + 1 }, org);
const newDelegation = sealKeyManagerDelegation(
  { key: newKm.publicKey, notBefore: ROTATED, notAfter: END },
  org,
);

const bucket = (signer: SigningKey, notBefore: number, notAfter = notBefore + 1000) =>
  sealBucketKeyDocument(
    {
      org: 'org-1',
      bucket: `b-${notBefore}`,
      retentionClass: 'standard',
      period: 'p',
      notBefore,
      notAfter,
      publicKey: new Uint8Array(32).fill(3),
    },
    signer,
  );

describe('key-manager chain', () => {
  it('orders links by start, keeps the widest delegation of a key, and marks the superseded one', () => {
    const chain = buildDelegationChain([newDelegation, oldDelegation, oldRenewed], org.publicKey);
    expect(chain).toHaveLength(2);
    expect(Buffer.from(chain[0]!.keyManager.key)).toEqual(Buffer.from(oldKm.publicKey));
    expect(chain[0]!.keyManager.notAfter).toBe(END + 1);
    expect(chain[0]!.supersededAt).toBe(ROTATED);
    expect(currentLink(chain).supersededAt).toBeNull();
    expect(Buffer.from(currentLink(chain).keyManager.key)).toEqual(Buffer.from(newKm.publicKey));
  });

  it('accepts old-key buckets that start before the rotation, retires later ones, and refuses unknown signers', () => {
    const chain = buildDelegationChain([oldDelegation, newDelegation], org.publicKey);
    expect(verifyBucketUnderChain(bucket(oldKm, ROTATED - 1), chain)).toMatchObject({
      current: false,
      retired: false,
    });
    expect(verifyBucketUnderChain(bucket(oldKm, ROTATED), chain)).toMatchObject({
      current: false,
      retired: true,
    });
    expect(verifyBucketUnderChain(bucket(newKm, ROTATED), chain)).toMatchObject({
      current: true,
      retired: false,
    });
    // The new key cannot sign for a window before its delegation starts.
    expect(() => verifyBucketUnderChain(bucket(newKm, ROTATED - 1), chain)).toThrow(/window exceeds/);
    const stranger = SigningKey.generate();
    expect(() => verifyBucketUnderChain(bucket(stranger, ROTATED), chain)).toThrow();
  });

  it('refuses a chain with a delegation the org key did not sign', () => {
    const forged = sealKeyManagerDelegation(
      { key: newKm.publicKey, notBefore: ROTATED, notAfter: END },
      SigningKey.generate(),
    );
    expect(() => buildDelegationChain([oldDelegation, forged], org.publicKey)).toThrow();
  });
});

describe('key-manager wrap', () => {
  it('opens for its recipient, org and key only', async () => {
    const officer = await generateBucketKeyPair();
    const other = await generateBucketKeyPair();
    const info = { org: 'org-1', to: '0', publicKey: newKm.publicKey };
    const blob = await wrapKeyManagerKey(newKm, info, officer.publicKey);
    const opened = await unwrapKeyManagerKey(blob, officer.privateKey, info);
    expect(Buffer.from(opened.publicKey)).toEqual(Buffer.from(newKm.publicKey));
    const fails = async (p: Promise<unknown>): Promise<string | undefined> =>
      p.then(
        () => undefined,
        (e: unknown) => (isCustosError(e) ? e.code : 'not a CustosError'),
      );
    expect(await fails(unwrapKeyManagerKey(blob, other.privateKey, info))).toBe('DECRYPTION_FAILED');
    expect(await fails(unwrapKeyManagerKey(blob, officer.privateKey, { ...info, to: '1' }))).toBe(
      'DECRYPTION_FAILED',
    );
    expect(await fails(unwrapKeyManagerKey(blob, officer.privateKey, { ...info, org: 'org-2' }))).toBe(
      'DECRYPTION_FAILED',
    );
    expect(
      await fails(unwrapKeyManagerKey(blob, officer.privateKey, { ...info, publicKey: oldKm.publicKey })),
    ).toBe('DECRYPTION_FAILED');
    const tampered = Uint8Array.from(blob);
    tampered[tampered.length - 1]! ^= 1;
    expect(await fails(unwrapKeyManagerKey(tampered, officer.privateKey, info))).toBe('DECRYPTION_FAILED');
    expect(await fails(unwrapKeyManagerKey(blob.subarray(0, 20), officer.privateKey, info))).toBe(
      'DECRYPTION_FAILED',
    );
  });
});
