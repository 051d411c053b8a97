import { describe, expect, it } from 'vitest';
import { ceremonyBuckets, delegationWindow, monthlyPeriods } from './bucket-periods.js';

describe('bucket periods', () => {
  it('covers the current and next UTC month without gaps or overlaps, across a year end', () => {
    const t = Date.UTC(2026, 11, 31, 23, 59, 59); // 31 Dec 2026
    const [dec, jan] = monthlyPeriods(t, 2);
    expect(dec).toEqual({
      period: '2026-12',
      notBefore: Date.UTC(2026, 11, 1),
      notAfter: Date.UTC(2027, 0, 1) - 1,
    });
    expect(jan!.period).toBe('2027-01');
    expect(jan!.notBefore).toBe(dec!.notAfter + 1);
    expect(jan!.notAfter).toBe(Date.UTC(2027, 1, 1) - 1);
  });

  it('makes one bucket per retention class and period, with distinct ids', () => {
    const buckets = ceremonyBuckets(Date.UTC(2026, 2, 15));
    expect(buckets.map((b) => b.bucketId)).toEqual([
      'transitory-2026-03',
      'transitory-2026-04',
      'standard-2026-03',
      'standard-2026-04',
      'permanent-2026-03',
      'permanent-2026-04',
    ]);
  });

  it('delegates for a window that contains every ceremony bucket', () => {
    const t = Date.UTC(2026, 1, 28, 12);
    const w = delegationWindow(t);
    expect(w.notBefore).toBeLessThanOrEqual(t);
    for (const b of ceremonyBuckets(t)) {
      expect(b.notBefore).toBeGreaterThanOrEqual(w.notBefore);
      expect(b.notAfter).toBeLessThanOrEqual(w.notAfter);
    }
  });
});
