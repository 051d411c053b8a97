/**
 * How long each retention class keeps its buckets (architecture.md §7; GRS 5.2 transitory,
 * FINRA/SEC-style seven years, Capstone permanent). A bucket expires when its window has
 * ended and its class's duration has passed since: period end + duration ≤ as-of.
 */
import type { BucketRecord } from '../store/bucket-stores.js';

/** Days a transitory record is kept. */
export const TRANSITORY_RETENTION_DAYS = 180;
/** Years a standard record is kept. */
export const STANDARD_RETENTION_YEARS = 7;

const DAY_MS = 86_400_000;

/**
 * When the bucket expires (ms), or null when it never does: `permanent`, and any class this
 * server does not know (never destroy what no rule covers).
 */
export function bucketExpiry(b: Pick<BucketRecord, 'retentionClass' | 'notAfter'>): number | null {
  // Windows are inclusive: the period ends at notAfter + 1.
  const end = b.notAfter + 1;
  if (b.retentionClass === 'transitory') return end + TRANSITORY_RETENTION_DAYS * DAY_MS;
  if (b.retentionClass === 'standard') {
    const d = new Date(end);
    return Date.UTC(
      d.getUTCFullYear() + STANDARD_RETENTION_YEARS,
      d.getUTCMonth(),
      d.getUTCDate(),
      d.getUTCHours(),
      d.getUTCMinutes(),
      d.getUTCSeconds(),
      d.getUTCMilliseconds(),
    );
  }
  return null;
}
