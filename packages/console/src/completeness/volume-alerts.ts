/**
 * Daily volume alerts (threat model F14, the slow half): one officer device pulling more of
 * the archive in a UTC day than the organisation expects. The rate limits catch bursts, but
 * an insider who stays under them (2 searches a second is 172,800 a day) raises none. Each
 * search, record read and export is an audit act in the org's log whose document carries its
 * counts (`results=N`, `records=N`); the console sums them per device and day from acts it
 * verified itself (officer-audit.ts), so the server can neither hide an act nor lower its
 * count: an act whose document it withholds still counts as one act, and is reported as
 * uncounted.
 *
 * Record reads (`GET …/archive/records`, export by custodian and the completeness check) have
 * no limit unless one is given: the daily completeness check reads every record archived
 * that day, so any default would alert on the officer who runs it.
 */
import type { VerifiedAct } from '../audit/officer-audit.js';

/** What is counted per device and day. */
export type VolumeMeasure = 'searches' | 'records-viewed' | 'records-read';

/** Daily limits per officer device; a measure without a limit is not checked. */
export interface VolumeLimits {
  /** Archive searches (each page of results is one). */
  readonly searches?: number;
  /** Records returned by searches plus records exported. */
  readonly recordsViewed?: number;
  /** Records read by custodian device (export by device, the completeness check). */
  readonly recordsRead?: number;
}

/** The limits `custos console alerts` applies unless told otherwise (docs/officers.md). */
export const DEFAULT_VOLUME_LIMITS: VolumeLimits = { searches: 500, recordsViewed: 10_000 };

/** The audit kinds volume is counted from. */
export const VOLUME_ACT_KINDS: readonly string[] = ['archive-search', 'archive-read', 'archive-export'];

/** One device's volume over one UTC day beyond a limit. */
export interface VolumeAlert {
  readonly kind: 'volume';
  readonly deviceId: string;
  /** The UTC day, YYYY-MM-DD. */
  readonly day: string;
  readonly measure: VolumeMeasure;
  readonly count: number;
  readonly limit: number;
  /** Acts of this measure whose document the server did not serve: their records are not in `count`. */
  readonly uncounted: number;
  /** Log indexes of the first and last act counted. */
  readonly firstLogIndex: number;
  readonly lastLogIndex: number;
}

/** A count from an act's detail (`results=12`), or null when the detail lacks it. */
function countIn(detail: string | null, field: 'results' | 'records'): number | null {
  if (detail === null) return null;
  const m = new RegExp(`(?:^| )${field}=(0|[1-9][0-9]{0,15})(?: |$)`).exec(detail);
  return m === null ? null : Number(m[1]);
}

interface Tally {
  count: number;
  uncounted: number;
  first: number;
  last: number;
}

/** Sums verified acts per device, UTC day and measure, and returns each sum beyond its limit. */
export function volumeAlerts(acts: readonly VerifiedAct[], limits: VolumeLimits): VolumeAlert[] {
  const tallies = new Map<string, Tally>();
  const add = (act: VerifiedAct, measure: VolumeMeasure, n: number | null): void => {
    const day = new Date(act.time).toISOString().slice(0, 10);
    const key = `${act.actor}\0${day}\0${measure}`;
    let t = tallies.get(key);
    if (t === undefined) {
      t = { count: 0, uncounted: 0, first: act.index, last: act.index };
      tallies.set(key, t);
    }
    if (n === null) t.uncounted++;
    else t.count += n;
    t.last = act.index;
  };
  for (const act of acts) {
    if (act.kind === 'archive-search') {
      add(act, 'searches', 1);
      add(act, 'records-viewed', countIn(act.detail, 'results'));
    } else if (act.kind === 'archive-export') {
      add(act, 'records-viewed', countIn(act.detail, 'records'));
    } else if (act.kind === 'archive-read') {
      add(act, 'records-read', countIn(act.detail, 'results'));
    }
  }
  const limitOf: Record<VolumeMeasure, number | undefined> = {
    searches: limits.searches,
    'records-viewed': limits.recordsViewed,
    'records-read': limits.recordsRead,
  };
  const alerts: VolumeAlert[] = [];
  for (const [key, t] of tallies) {
    const [deviceId, day, measure] = key.split('\0') as [string, string, VolumeMeasure];
    const limit = limitOf[measure];
    // An uncounted act may hide any number of records: it alone is reason to look.
    if (limit === undefined || (t.count <= limit && t.uncounted === 0)) continue;
    alerts.push({
      kind: 'volume',
      deviceId,
      day,
      measure,
      count: t.count,
      limit,
      uncounted: t.uncounted,
      firstLogIndex: t.first,
      lastLogIndex: t.last,
    });
  }
  return alerts.sort((a, b) => a.firstLogIndex - b.firstLogIndex || a.measure.localeCompare(b.measure));
}
