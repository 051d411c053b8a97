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
 * places them (see tokenHoldDetails). `hold.extend` acts are audit events: the buckets a hold
 * was extended to are not checked here.
 *
 * The listing must be read before the log, so that every listed act can be in it; a hold
 * placed or released in between shows as a disagreement, which callers read again to settle.
 */
import { createHash } from 'node:crypto';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import type { IndexedEntry } from '../completeness/verified-log.js';
import { MAX_DATE_MS } from '../json-values.js';
import type { HoldListing } from './officer-holds.js';

/**
 * What of a hold the listing and the log disagree on, one code per kind of disagreement (the
 * completeness check names its findings by it):
 * `placed-twice`/`released-twice` the log has two such acts for it; `not-listed` the log
 * places it, the listing lacks it; `not-placed` listed, no act placed it; `placing` listed as
 * placed by another device or at another time than its act; `scope` its listed kind, matter
 * or scope is not what its act commits to; `listed-active` listed active, the log released it;
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

interface HoldAct {
  readonly index: number;
  readonly actor: string;
  readonly time: number;
  readonly hash: string;
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
/** A time in a problem text: a later time than a Date can show is named as a number, never throws. */
const iso = (ms: number): string =>
  Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : `time ${ms}`;

/** Most buckets one token hold covers (server holds/hold-acts.ts MAX_HOLD_BUCKETS). */
const MAX_HOLD_BUCKETS = 1_000;
/** Most tokens per bucket (server MAX_HOLD_TOKENS). */
const MAX_HOLD_TOKENS = 32;

/**
 * Every detail a token hold's placing act may have, given the listing (server hold-acts.ts
 * placeDetail: `kind=… buckets=B tokens=N matter-sha256=…`). The listing names the buckets
 * the hold covers now, placed or extended since, so B is at most their number; a console
 * sends the same query's (or conversation's) tokens to every bucket, so N is B times that
 * query's token count. At most 32 000 candidates, for the largest hold.
 */
function* tokenHoldDetails(h: LoggedHold, m: string): Generator<string> {
  const listed = Math.min(new Set(h.buckets).size, MAX_HOLD_BUCKETS);
  for (let b = listed; b >= 1; b--)
    for (let k = 1; k <= MAX_HOLD_TOKENS; k++) yield `kind=${h.kind} buckets=${b} tokens=${b * k} ${m}`;
}

/**
 * Every detail the placing act of `h` may have, as the server writes it (server
 * holds/hold-acts.ts placeDetail). Every detail names the kind and the matter's hash, so a
 * hold listed under another kind or matter than it was placed with matches none.
 */
function* placeDetails(h: LoggedHold): Generator<string> {
  const m = `matter-sha256=${sha256(h.matter)}`;
  if (h.kind === 'custodian') yield `kind=custodian user=${h.custodian ?? ''} ${m}`;
  else if (h.kind === 'dates') yield `kind=dates from=${h.from ?? ''} to=${h.to ?? ''} ${m}`;
  else yield* tokenHoldDetails(h, m);
}

/** Whether the placing act `p` of `h` commits to one of the documents the listing implies. */
function placedAsListed(orgId: string, h: LoggedHold, p: HoldAct): boolean {
  for (const detail of placeDetails(h))
    if (
      p.hash ===
      auditDocumentHash(orgId, { kind: 'hold.create', actor: p.actor, subject: h.holdId, at: p.time, detail })
    )
      return true;
  return false;
}

/** Every disagreement between `holds` (the server's whole listing) and the `hold` entries of `entries`. */
export function holdDisagreements(
  orgId: string,
  holds: readonly LoggedHold[],
  entries: readonly IndexedEntry[],
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
    if (!placedAsListed(orgId, h, p))
      out.push({
        holdId: h.holdId,
        aspect: 'scope',
        problem: `its listed kind (${h.kind}), matter or scope is not the one its placing act (entry ${p.index}) commits to`,
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
