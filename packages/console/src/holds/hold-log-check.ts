/**
 * The server's hold listing held against the org's verified log (docs/officers.md "Legal
 * holds"). Placing and releasing a hold are acts the server logs in the same transaction
 * (server holds/hold-acts.ts): a `hold` entry (`place` or `release`, hold id, acting device,
 * time) whose hash commits to the act's document. Disposition plan checks rely on
 * the listing (which holds exist, when each was placed and released); a server that hid an
 * active hold, called it released, or moved its dates would let a plan destroy held records.
 * Plan checks refuse a plan then; the daily completeness check reports each disagreement as a
 * finding (completeness/hold-mismatches.ts), so officers learn of it before anyone plans.
 *
 * So, against a log verified up to a checkpoint the profile trusts:
 * - every hold the log shows placed and not released is listed, and listed as active;
 * - every listed hold has its `place` entry, by the device and at the time listed, and the
 *   entry's hash is that of a document the listing implies: kind and matter for every hold,
 *   and the custodian or dates of such a hold, so a hold cannot be listed under another kind
 *   (a dates hold listed as a query hold without buckets would reach no bucket);
 * - every hold listed as released has its `release` entry, by the device, at the time and with
 *   the reason listed; a hold the log shows released is not listed as active.
 * Token holds (query, conversation) log bucket and token counts, not buckets: the listing
 * must name at least as many buckets as the act counts, and the counts must be as a console
 * places them (hold-scope-search.ts, which bounds what one run spends on that search: a token
 * hold it could not settle within HOLD_SCOPE_BUDGET is a `scope-unchecked` disagreement, never
 * a pass). `hold.extend` acts are audit events: the buckets a hold was extended to are not
 * checked here.
 *
 * The listing must be read before the log, so that every listed act can be in it; a hold
 * placed or released in between shows as a disagreement, which callers read again to settle.
 */
import { createHash } from 'node:crypto';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import type { IndexedEntry } from '../completeness/verified-log.js';
import { MAX_DATE_MS } from '../json-values.js';
import {
  holdScopeSearch,
  listedBucketCount,
  type HoldScopeSearch,
  type HoldAct,
} from './hold-scope-search.js';
import type { HoldListing } from './officer-holds.js';

/**
 * What of a hold the listing and the log disagree on, one code per kind of disagreement (the
 * completeness check names its findings by it):
 * `placed-twice`/`released-twice` the log has two such acts for it; `not-listed` the log
 * places it, the listing lacks it; `not-placed` listed, no act placed it; `placing` listed as
 * placed by another device or at another time than its act; `scope` its listed kind, matter
 * or scope is not what its act commits to; `scope-unchecked` a token hold's scope could not be
 * matched to its act within the run's budget (hold-scope-search.ts HOLD_SCOPE_BUDGET), so it is
 * not known to be what the act commits to; `listed-active` listed active, the log released it;
 * `not-released` listed released, no act released it; `release` listed as released by another
 * device, at another time or with another reason than its act.
 */
export type HoldDisagreementAspect =
  | 'placed-twice'
  | 'released-twice'
  | 'not-listed'
  | 'not-placed'
  | 'placing'
  | 'scope'
  | 'scope-unchecked'
  | 'listed-active'
  | 'not-released'
  | 'release';

/** A hold on which the listing and the log disagree, and how. */
export interface HoldDisagreement {
  readonly holdId: string;
  readonly aspect: HoldDisagreementAspect;
  readonly problem: string;
}

/** What a hold check needs of a listed hold. */
export type LoggedHold = Pick<
  HoldListing,
  | 'holdId'
  | 'kind'
  | 'matter'
  | 'buckets'
  | 'custodian'
  | 'from'
  | 'to'
  | 'createdBy'
  | 'createdAt'
  | 'releasedBy'
  | 'releasedAt'
  | 'releaseReason'
>;

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
/** A time in a problem text: a later time than a Date can show is named as a number, never throws. */
const iso = (ms: number): string =>
  Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : `time ${ms}`;

/**
 * Every disagreement between `holds` (the server's whole listing) and the `hold` entries of
 * `entries`. `scopes` is the run's scope search: one per run, so that reading the listing
 * again does not search again, and the run's budget holds whatever the server lists.
 */
export function holdDisagreements(
  orgId: string,
  holds: readonly LoggedHold[],
  entries: readonly IndexedEntry[],
  scopes: HoldScopeSearch = holdScopeSearch(orgId),
): HoldDisagreement[] {
  const placed = new Map<string, HoldAct>();
  const released = new Map<string, HoldAct>();
  const out: HoldDisagreement[] = [];
  for (const { index, entry: e } of entries) {
    if (e.type !== 'hold') continue;
    const acts = e.action === 'place' ? placed : released;
    if (acts.has(e.holdId)) {
      out.push({
        holdId: e.holdId,
        aspect: e.action === 'place' ? 'placed-twice' : 'released-twice',
        problem: `the log ${e.action}s it twice (entry ${index})`,
      });
      continue;
    }
    acts.set(e.holdId, {
      index,
      actor: e.actor,
      time: e.time,
      hash: Buffer.from(e.hash).toString('hex'),
    });
  }
  const listed = new Map(holds.map((h) => [h.holdId, h]));
  for (const [holdId, p] of placed) {
    const h = listed.get(holdId);
    if (h === undefined) {
      const state = released.has(holdId) ? 'placed and released' : 'placed and not released';
      out.push({
        holdId,
        aspect: 'not-listed',
        problem: `the log shows it ${state} (entry ${p.index}), the server does not list it`,
      });
    }
  }
  for (const h of holds) {
    const p = placed.get(h.holdId);
    const r = released.get(h.holdId);
    if (p === undefined) {
      out.push({
        holdId: h.holdId,
        aspect: 'not-placed',
        problem: 'the server lists it, but no act in the log placed it',
      });
      continue;
    }
    if (p.actor !== h.createdBy || p.time !== h.createdAt)
      out.push({
        holdId: h.holdId,
        aspect: 'placing',
        problem:
          `the server lists it placed by ${h.createdBy} at ${iso(h.createdAt)}, ` +
          `the log by ${p.actor} at ${iso(p.time)} (entry ${p.index})`,
      });
    const scope = scopes.match(h, p);
    if (scope === 'otherwise')
      out.push({
        holdId: h.holdId,
        aspect: 'scope',
        problem: `its listed kind (${h.kind}), matter or scope is not the one its placing act (entry ${p.index}) commits to`,
      });
    else if (scope === 'over-budget')
      out.push({
        holdId: h.holdId,
        aspect: 'scope-unchecked',
        problem:
          `the server lists it as a ${h.kind} hold on ${listedBucketCount(h)} bucket(s), which could not be matched ` +
          `to its placing act (entry ${p.index}) within the check's budget of ${scopes.budget} candidate act ` +
          'documents for token holds: its scope is unchecked',
      });
    if (h.releasedAt === null) {
      if (r !== undefined)
        out.push({
          holdId: h.holdId,
          aspect: 'listed-active',
          problem: `the server lists it active, the log shows it released at ${iso(r.time)} (entry ${r.index})`,
        });
      continue;
    }
    if (r === undefined) {
      out.push({
        holdId: h.holdId,
        aspect: 'not-released',
        problem: `the server lists it released at ${iso(h.releasedAt)}, but no act in the log released it`,
      });
      continue;
    }
    const reason = h.releaseReason === null ? null : `reason-sha256=${sha256(h.releaseReason)}`;
    if (
      r.actor !== h.releasedBy ||
      r.time !== h.releasedAt ||
      r.hash !==
        auditDocumentHash(orgId, {
          kind: 'hold.release',
          actor: r.actor,
          subject: h.holdId,
          at: r.time,
          detail: reason,
        })
    )
      out.push({
        holdId: h.holdId,
        aspect: 'release',
        problem:
          `the server lists it released by ${h.releasedBy ?? 'no one'} at ${iso(h.releasedAt)}, ` +
          `which is not the release act in the log (entry ${r.index}, ${iso(r.time)})`,
      });
  }
  return out;
}
