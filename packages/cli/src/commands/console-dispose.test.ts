/** `custos console dispose` output: buckets still taking records are listed as not yet disposable; officers are numbered as their profile folders. */
import type { DispositionView } from '@custos/console';
import { describe, expect, it } from 'vitest';
import { planLines, waitingLines } from './console-dispose.js';

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
  it('lists a bucket the server left out because it still accepts records, with its dates', () => {
    // A plan as of a future day once listed next month's bucket like any expired one: approved
    // and executed, its keys went, and every record sealed to it afterwards could never be
    // opened. The server now leaves such a bucket out and names it; the dry run says when it can go.
    const lines = waitingLines([
      {
        bucketId: 'transitory-2026-12',
        retentionClass: 'transitory',
        period: '2026-12',
        recordsAcceptedUntil: Date.UTC(2027, 0, 8) - 1,
        disposableFrom: Date.UTC(2027, 0, 8),
      },
    ]);
    expect(lines[0]).toMatch(/^Not yet disposable: the server accepts records into this bucket until/);
    expect(lines[1]).toBe(
      '  transitory-2026-12  transitory  not yet disposable (still accepting records until 2027-01-07; disposable from 2027-01-08)',
    );
    expect(waitingLines([])).toEqual([]);
    expect(planLines(view(['2026-05'], [])).join('\n')).not.toMatch(/WARNING|not yet disposable/);
  });

  it('numbers approving officers as their profile folders do (officer-1 is index 0)', () => {
    expect(planLines(view(['2026-05'], [0, 2]))[0]).toContain('approvals 2 of 2 (officers 1, 3)');
  });
});
