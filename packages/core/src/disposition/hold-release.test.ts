import { describe, expect, it } from 'vitest';
import {
  decodeHoldRelease,
  encodeHoldRelease,
  holdReleaseActDetail,
  holdReleaseMessage,
  holdReleaseReasonHash,
  type HoldRelease,
} from './hold-release.js';
import { encodeDeterministic } from '../record/deterministic-cbor.js';

const release: HoldRelease = {
  orgId: 'org-1',
  holdId: 'hold_A1',
  reasonSha256: holdReleaseReasonHash('Matter settled; counsel letter 2026-07.'),
  officerIndex: 1,
  at: 1_764_000_000_000,
};

describe('hold release', () => {
  it('encodes deterministically, decodes to the same statement, and signs under its own domain', () => {
    const bytes = encodeHoldRelease(release);
    expect(Buffer.from(bytes).equals(Buffer.from(encodeHoldRelease({ ...release })))).toBe(true);
    expect(decodeHoldRelease(bytes)).toEqual(release);
    const msg = holdReleaseMessage(bytes);
    expect(Buffer.from(msg).subarray(0, 23).toString('utf8')).toBe('custos-hold-release-v1\u0000');
    expect(Buffer.from(msg).subarray(23).equals(Buffer.from(bytes))).toBe(true);
  });

  it('refuses malformed ids, a reason hash that is not hex SHA-256, a negative officer or time', () => {
    expect(() => encodeHoldRelease({ ...release, orgId: '' })).toThrow(/org/);
    expect(() => encodeHoldRelease({ ...release, holdId: 'a b' })).toThrow(/hold/);
    for (const reasonSha256 of ['', 'AB'.repeat(32), 'ab'.repeat(31), 'reason'])
      expect(() => encodeHoldRelease({ ...release, reasonSha256 })).toThrow(/reason hash/);
    expect(() => encodeHoldRelease({ ...release, officerIndex: -1 })).toThrow(/officer index/);
    expect(() => encodeHoldRelease({ ...release, at: 1.5 })).toThrow(/time/);
  });

  it('decodes only the one encoding of a version 1 statement', () => {
    const doc = {
      v: 1,
      typ: 'hold-release',
      org: release.orgId,
      hld: release.holdId,
      rsn: release.reasonSha256,
      off: 1,
      at: release.at,
    };
    expect(decodeHoldRelease(encodeDeterministic(doc))).toEqual(release);
    expect(() => decodeHoldRelease(encodeDeterministic({ ...doc, v: 2 }))).toThrow(/version 1/);
    expect(() => decodeHoldRelease(encodeDeterministic({ ...doc, typ: 'finding-acknowledgement' }))).toThrow(
      /version 1/,
    );
    expect(() => decodeHoldRelease(encodeDeterministic({ ...doc, extra: 1 }))).toThrow(/version 1/);
    expect(() => decodeHoldRelease(encodeDeterministic({ ...doc, rsn: 'x' }))).toThrow(/reason hash/);
    expect(() => decodeHoldRelease(new Uint8Array(1025))).toThrow(/larger/);
  });

  it('names reason and statement in its act\'s detail by SHA-256 (FIPS 180-2 vector for "abc"); none before signing', () => {
    const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
    expect(holdReleaseActDetail('abc', Buffer.from('abc'))).toBe(
      `reason-sha256=${abc} statement-sha256=${abc}`,
    );
    expect(holdReleaseActDetail('abc', null)).toBe(`reason-sha256=${abc}`);
  });
});
