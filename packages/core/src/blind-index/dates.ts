/**
 * Day and month values of date tokens (UTC), and the covering of a date range by month
 * and day tokens. A record carries one day token ("YYYY-MM-DD") and one month token
 * ("YYYY-MM") of its event time; a range query ORs the months it covers whole and the
 * days at its ragged ends, so a ten-year range costs about 120 tokens, not 3,653.
 */
import { CustosError } from '../errors.js';

/** Longest date range a query may cover, in days (50 years). */
export const MAX_QUERY_RANGE_DAYS = 50 * 366;

const DAY_MS = 86_400_000;
const MIN_YEAR = 1;
const MAX_YEAR = 9999;

/** Milliseconds since the epoch of a timestamp given as number or Date, checked. */
export function timestampMillis(t: number | Date, what: string): number {
  const ms = t instanceof Date ? t.getTime() : t;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new CustosError(
      'INVALID_ARGUMENT',
      `${what} must be a finite timestamp in milliseconds or a valid Date`,
    );
  }
  const year = new Date(ms).getUTCFullYear();
  if (year < MIN_YEAR || year > MAX_YEAR) {
    throw new CustosError('INVALID_ARGUMENT', `${what} must fall in the years ${MIN_YEAR}..${MAX_YEAR}`);
  }
  return ms;
}

/** "YYYY-MM-DD" of the UTC day containing `ms`. */
export function dayValue(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** "YYYY-MM" of the UTC month containing `ms`. */
export function monthValue(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** Month and day values that together cover the UTC days from `fromMs` to `toMs`, inclusive. */
export function coverDateRange(fromMs: number, toMs: number): { months: string[]; days: string[] } {
  const first = Math.floor(fromMs / DAY_MS);
  const last = Math.floor(toMs / DAY_MS);
  if (last < first) throw new CustosError('INVALID_ARGUMENT', 'date range ends before it starts');
  if (last - first + 1 > MAX_QUERY_RANGE_DAYS) {
    throw new CustosError('INVALID_ARGUMENT', `date range longer than ${MAX_QUERY_RANGE_DAYS} days`);
  }
  const months: string[] = [];
  const days: string[] = [];
  let d = first;
  while (d <= last) {
    const date = new Date(d * DAY_MS);
    if (date.getUTCDate() === 1) {
      const nextMonth = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1) / DAY_MS;
      if (nextMonth - 1 <= last) {
        months.push(monthValue(d * DAY_MS));
        d = nextMonth;
        continue;
      }
    }
    days.push(dayValue(d * DAY_MS));
    d++;
  }
  return { months, days };
}
