/**
 * The completeness check's hold findings (docs/officers.md, "Completeness and alerts"): the
 * server's hold listing held against the verified log's `hold` acts, by the same comparison
 * disposition plan checks refuse a plan on (holds/hold-log-check.ts). A server that drops an
 * active hold from its listing, or shows it released, would let the next plan destroy held
 * records; officers should learn of it in the daily check, not only when someone plans. So
 * should they of a release no officer signed (`release-signature`, `unsigned-release`).
 */
import { holdDisagreements, type LoggedHold } from '../holds/hold-log-check.js';
import type { HoldScopeSearch } from '../holds/hold-scope-search.js';
import type { OfficerListHistory } from '../officer-list-history.js';
import type { HoldMismatchFinding } from './completeness-findings.js';
import type { IndexedEntry } from './verified-log.js';

/**
 * One finding per hold and aspect on which `holds` (the whole listing, read before the log)
 * and the `hold` entries of `entries` disagree, in the comparison's order. A hold the log
 * places (or releases) three times is named once: its finding id names hold and aspect.
 * `officers` are the officer lists release signatures are checked against; `scopes` is the
 * run's scope search (holdDisagreements), shared by every read of the listing.
 */
export function holdMismatches(
  orgId: string,
  holds: readonly LoggedHold[],
  entries: readonly IndexedEntry[],
  officers: Pick<OfficerListHistory, 'at'>,
  scopes?: HoldScopeSearch,
): HoldMismatchFinding[] {
  const seen = new Set<string>();
  const out: HoldMismatchFinding[] = [];
  for (const d of holdDisagreements(orgId, holds, entries, officers, scopes)) {
    const key = `${d.holdId}/${d.aspect}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ kind: 'hold-mismatch', holdId: d.holdId, aspect: d.aspect, problem: d.problem });
  }
  return out;
}
