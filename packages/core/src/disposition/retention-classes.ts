/**
 * How long each retention class keeps its buckets (architecture.md §7; GRS 5.2 transitory,
 * FINRA/SEC-style seven years, Capstone permanent). A bucket expires when its window has
 * ended and its class's duration has passed since: period end + duration ≤ as-of.
 *
 * The one definition: the server plans by it and the officer's console checks every plan
 * against it before signing (console disposition/plan-check.ts), so a server cannot shorten a
 * class's retention by its own table.
 */

/** Days a transitory record is kept. */
export const TRANSITORY_RETENTION_DAYS = 180;
/** Years a standard record is kept. */
export const STANDARD_RETENTION_YEARS = 7;

const DAY_MS = 86_400_000;

/**
 * When a bucket of `retentionClass` whose (inclusive) window ends at `notAfter` expires (ms),
 * or null when it never does: `permanent`, and any class not named here (never destroy what
 * no rule covers).
 */
export function bucketExpiry(b: {
  readonly retentionClass: string;
  readonly notAfter: number;
}): number | null {
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
