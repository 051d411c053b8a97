/** `custos console dispose` output: buckets still taking records are named with a warning; officers are numbered as their profile folders. */
import type { DispositionView } from '@custos/console';
import { describe, expect, it } from 'vitest';
import { planLines, recordsAcceptedUntil } from './console-dispose.js';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 10, 27, 14, 0);

function view(periods: readonly string[], approvedBy: readonly number[]): DispositionView {
  const buckets = periods.map((period) => ({
    bucketId: `transitory-${period}`,
    retentionClass: 'transitory',
    period,
    expiresAt: Date.UTC(2027, 6, 1),
    records: 0,
    held: 0,
    span: null,
    leaves: new Uint8Array(32),
  }));
  return {
    planId: 'ab'.repeat(32),
    state: 'proposed',
    plan: { orgId: 'o'.repeat(22), asOf: Date.UTC(2027, 6, 1, 23, 59, 59, 999), madeAt: NOW, buckets },
    quorum: 2,
    approvedBy,
  } as unknown as DispositionView;
}

describe('console dispose output', () => {
  it('takes records into a month bucket until the month ends plus the 7-day late-upload grace', () => {
    expect(recordsAcceptedUntil('2026-12')).toBe(Date.UTC(2027, 0, 1) - 1 + 7 * DAY_MS);
    expect(recordsAcceptedUntil('2026')).toBeNull();
  });

  it('warns about a bucket a future --as-of put in the plan while devices still seal records to it', () => {
    // A plan as of a future day listed next month's bucket like any expired one: approved and
    // executed, its keys went, and every record sealed to it afterwards could never be opened.
    const lines = planLines(view(['2026-05', '2026-12'], []), NOW);
    const warnings = lines.filter((l) => l.startsWith('WARNING'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('WARNING transitory-2026-12 is still in use');
    expect(warnings[0]).toContain('until 2027-01-07');
    expect(warnings[0]).toContain('--as-of 2027-07-01 lies in the future');
    expect(planLines(view(['2026-05'], []), NOW).some((l) => l.startsWith('WARNING'))).toBe(false);
  });

  it('numbers approving officers as their profile folders do (officer-1 is index 0)', () => {
    expect(planLines(view(['2026-05'], [0, 2]), NOW)[0]).toContain('approvals 2 of 2 (officers 1, 3)');
  });
});
