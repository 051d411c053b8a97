/** The officer-device binding: round trip, the signer it names, tamper and domain separation. */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCustosError } from '../errors.js';
import { ed25519RawPublicKey } from '../note/ed25519.js';
import {
  openOfficerDeviceBinding,
  sealOfficerDeviceBinding,
  sealSignedDocument,
  splitSignedDocument,
  type OfficerDeviceBinding,
} from './index.js';

const officer = generateKeyPairSync('ed25519').privateKey;
const other = generateKeyPairSync('ed25519').privateKey;
const binding: OfficerDeviceBinding = {
  org: 'org-1',
  deviceId: 'dev-1',
  identityKeyHash: new Uint8Array(32).fill(3),
  officerIndex: 2,
  issuedAt: 1_750_000_000_000,
};
const keyOf = (i: number): Uint8Array => {
  if (i !== 2) throw new Error(`officer ${i} is not listed`);
  return ed25519RawPublicKey(officer);
};

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isCustosError(e) ? e.code : String(e);
  }
  return undefined;
}

describe('officer device binding', () => {
  it('opens with the key of the officer it names', () => {
    const bytes = sealOfficerDeviceBinding(binding, officer);
    expect(openOfficerDeviceBinding(bytes, keyOf)).toEqual(binding);
  });

  it("refuses another officer's signature, a tampered payload and another document's domain", () => {
    expect(code(() => openOfficerDeviceBinding(sealOfficerDeviceBinding(binding, other), keyOf))).toBe(
      'SIGNATURE_INVALID',
    );
    const { payload, signature } = splitSignedDocument('x', sealOfficerDeviceBinding(binding, officer));
    const changed = sealOfficerDeviceBinding({ ...binding, deviceId: 'dev-2' }, officer);
    const swapped = sealSignedDocument('custos-officer-list-v1', {}, officer);
    expect(payload.length).toBeGreaterThan(0);
    expect(signature.length).toBe(64);
    const { payload: p2 } = splitSignedDocument('x', changed);
    const forged = new Uint8Array([0x82, 0x58, p2.length, ...p2, 0x58, 64, ...signature]);
    expect(code(() => openOfficerDeviceBinding(forged, keyOf))).toBe('SIGNATURE_INVALID');
    expect(code(() => openOfficerDeviceBinding(swapped, keyOf))).toBe('MALFORMED_INPUT');
  });

  it('asks for the key of the officer index it names, before verifying', () => {
    const bytes = sealOfficerDeviceBinding({ ...binding, officerIndex: 5 }, officer);
    expect(code(() => openOfficerDeviceBinding(bytes, keyOf))).toBe('Error: officer 5 is not listed');
  });

  it('refuses to sign a malformed binding', () => {
    expect(
      code(() => sealOfficerDeviceBinding({ ...binding, identityKeyHash: new Uint8Array(31) }, officer)),
    ).toBe('MALFORMED_INPUT');
    expect(code(() => sealOfficerDeviceBinding({ ...binding, officerIndex: 100 }, officer))).toBe(
      'MALFORMED_INPUT',
    );
  });
});
