/**
 * Monthly bucket periods (UTC). A period `YYYY-MM` covers [first ms of the month, last ms of
 * the month], inclusive at both ends like the server's windows, so adjacent periods never
 * overlap. Bucket ids are `<class>-<period>`, e.g. `standard-2026-03`.
 */
import {
  CEREMONY_BUCKET_MONTHS,
  DELEGATION_VALIDITY_MONTHS,
  RETENTION_CLASSES,
  type RetentionClass,
} from './defaults.js';

/** One monthly period with its validity window. */
export interface BucketPeriod {
  /** `YYYY-MM`. */
  readonly period: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** A bucket to create: class, period and window. */
export interface BucketPlan extends BucketPeriod {
  readonly bucketId: string;
  readonly retentionClass: RetentionClass;
}

/** First millisecond of the UTC month `months` after the month containing `time`. */
export function monthStart(time: number, months = 0): number {
  const d = new Date(time);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1);
}

/** The `count` monthly periods starting with the month containing `time`. */
export function monthlyPeriods(time: number, count: number): BucketPeriod[] {
  return Array.from({ length: count }, (_, i) => {
    const start = monthStart(time, i);
    const d = new Date(start);
    const period = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
    return { period, notBefore: start, notAfter: monthStart(time, i + 1) - 1 };
  });
}

/** The buckets a ceremony at `time` creates: every retention class × the current and next month. */
export function ceremonyBuckets(time: number): BucketPlan[] {
  const periods = monthlyPeriods(time, CEREMONY_BUCKET_MONTHS);
  return RETENTION_CLASSES.flatMap((retentionClass) =>
    periods.map((p) => ({ ...p, retentionClass, bucketId: `${retentionClass}-${p.period}` })),
  );
}

/**
 * The first delegation's window: from the start of the ceremony month (so it covers the
 * current month's bucket, whose window starts then) for DELEGATION_VALIDITY_MONTHS months.
 */
export function delegationWindow(time: number): { notBefore: number; notAfter: number } {
  return { notBefore: monthStart(time), notAfter: monthStart(time, DELEGATION_VALIDITY_MONTHS) - 1 };
}
