/**
 * A later clock for a test's `custos server` process, so an end-to-end test can reach a time
 * the machine has not yet (this month's buckets past their late-upload grace) without waiting
 * for it. Node's own `--import` flag loads, before the server's code, an inline module (a
 * data: URL) that shifts `Date` in that one process. The server has no setting, variable or
 * file for it: nothing in the shipped CLI or server configuration can turn it on, and the
 * devices and officers the test runs keep the machine's clock — except an officer's command
 * run with {@link cliClockAt}, the same shift through NODE_OPTIONS.
 */
import type { ServerArgs } from './client-support.js';

const DAY_MS = 86_400_000;

/** Source of the module that makes `Date` read `shiftMs` later (`new Date()`, `Date()`, `Date.now()`). */
function shiftSource(shiftMs: number): string {
  return `const R = Date; const s = ${Math.round(shiftMs)};
globalThis.Date = new Proxy(R, {
  construct: (t, a, n) => Reflect.construct(t, a.length === 0 ? [R.now() + s] : a, n),
  apply: () => new R(R.now() + s).toString(),
  get: (t, p, r) => (p === 'now' ? () => R.now() + s : Reflect.get(t, p, r)),
});`;
}

/** Server arguments (node flags) that make the server's clock read `at` now, and run on from there. */
export function serverClockAt(at: number, extra: ServerArgs = {}): ServerArgs {
  const module = `data:text/javascript,${encodeURIComponent(shiftSource(at - Date.now()))}`;
  return { ...extra, nodeArgs: [...(extra.nodeArgs ?? []), '--import', module] };
}

/**
 * Environment for one `custos` command (cli-support.ts `custos`, which takes environment only)
 * whose clock reads `at` now: an officer approving a plan as of a far date must be at it, as
 * the console refuses a plan as of a date after its own clock.
 */
export function cliClockAt(at: number): NodeJS.ProcessEnv {
  return {
    NODE_OPTIONS: `--import data:text/javascript,${encodeURIComponent(shiftSource(at - Date.now()))}`,
  };
}

/** Where officers approve and execute the e2e plans as of 2100-01-01 from: the day after. */
export const OFFICERS_IN_2100 = Date.UTC(2100, 0, 2);

/**
 * A time at which this month's buckets take no more records (their month's end plus the
 * server's 7-day late-upload grace has passed, with a day to spare) while next month's still
 * do: the 9th of next month, 00:00 UTC.
 */
export function afterThisMonthsGrace(now = Date.now()): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 9);
}

/** The server's late-upload grace (server archive-defaults.ts BUCKET_LATE_UPLOAD_GRACE_MS). */
export const LATE_UPLOAD_GRACE_MS = 7 * DAY_MS;
