import { PrivateKey } from '@signalapp/libsignal-client';
import { describe, expect, it } from 'vitest';
import { deviceId, orgId, type RecordHash } from '../record/ids.js';
import { fuzzParser } from '../testing/fuzz.js';
import { decodeGapDeclaration, signGapDeclaration } from './gap-declaration.js';

const seed = signGapDeclaration(PrivateKey.generate(), {
  org: orgId('o'),
  device: deviceId('d1'),
  firstSeq: 3,
  lastSeq: 9,
  prev: new Uint8Array(32).fill(1) as RecordHash,
  resume: new Uint8Array(32).fill(2) as RecordHash,
  reason: 'device-lost',
});

describe('fuzz: decodeGapDeclaration', () => {
  it('returns or throws CustosError, never hangs', () => {
    const report = fuzzParser((b) => decodeGapDeclaration(b), [seed], { seed: 12 });
    expect(report.failures).toEqual([]);
    expect(report.accepted).toBeGreaterThan(0);
  });
});
