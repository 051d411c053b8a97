import { describe, expect, it } from 'vitest';
import { fuzzParser } from '../testing/fuzz.js';
import {
  decodeDispositionCertificate,
  decodeDispositionPlan,
  encodeDispositionCertificate,
  encodeDispositionPlan,
} from './disposition-plan.js';

const plan = encodeDispositionPlan({
  orgId: 'org-1',
  asOf: 4_102_444_800_000,
  madeAt: 1_780_000_000_000,
  buckets: [
    {
      bucketId: 'transitory-2026-01',
      retentionClass: 'transitory',
      period: '2026-01',
      expiresAt: 1_785_000_000_000,
      records: 3,
      held: 1,
      span: [10, 42],
      leaves: new Uint8Array(32).fill(5),
    },
    {
      bucketId: 'standard-2026-02',
      retentionClass: 'standard',
      period: '2026-02',
      expiresAt: 2_000_000_000_000,
      records: 0,
      held: 0,
      span: null,
      leaves: new Uint8Array(32),
    },
  ],
});
const certificate = encodeDispositionCertificate({
  orgId: 'org-1',
  planHash: new Uint8Array(32).fill(1),
  executedAt: 1_800_000_000_000,
  approvals: [{ officerIndex: 0, signature: new Uint8Array(64).fill(2) }],
  buckets: [{ bucketId: 'transitory-2026-01', records: 3, held: 1, keysDestroyed: false }],
});

describe('fuzz: disposition plan and certificate decoders', () => {
  it('return or throw CustosError, never hang', () => {
    for (const [decode, seed] of [
      [decodeDispositionPlan, plan],
      [decodeDispositionCertificate, certificate],
    ] as const) {
      const report = fuzzParser((b) => decode(b), [seed], { seed: 5 });
      expect(report.failures).toEqual([]);
      expect(report.accepted).toBeGreaterThan(0);
    }
  });

  it('round-trip the seeds', () => {
    expect(encodeDispositionPlan(decodeDispositionPlan(plan))).toEqual(plan);
    expect(encodeDispositionCertificate(decodeDispositionCertificate(certificate))).toEqual(certificate);
  });
});
