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
 *   the reason listed; a hold the log shows released is not listed as active;
 * - a release is an officer's decision, not the server's: the listed release statement (core
 *   hold-release.ts) is the one its act commits to, names this org, the hold and the reason,
 *   and its signature verifies with the key of the officer it names in the officer list in
 *   force at the act's log index (officer-list-history.ts). A release act the server wrote
 *   itself carries no such statement. A release logged without one before any signed release
 *   of the log (servers before signing wrote them so) is named apart, `unsigned-release`:
 *   docs/officers.md "Legal holds" says how officers settle it.
 * Token holds (query, conversation) log bucket and token counts, not buckets: the listing
 * must name at least as many buckets as the act counts, and the counts must be as a console
 * places them (hold-scope-search.ts: the listed placing detail, checked against the act's
 * hash, or else a search; it bounds what one run spends on them, and a token hold it could
 * not settle within HOLD_SCOPE_BUDGET is a `scope-unchecked` disagreement, never a pass).
 * `hold.extend` acts are audit events: the buckets a hold was extended to are not checked here.
 *
 * The listing must be read before the log, so that every listed act can be in it; a hold
 * placed or released in between shows as a disagreement, which callers read again to settle.
 */
import {
  decodeHoldRelease,
  holdReleaseActDetail,
  holdReleaseMessage,
  holdReleaseReasonHash,
} from '@custos/core';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import type { IndexedEntry } from '../completeness/verified-log.js';
import { MAX_DATE_MS } from '../json-values.js';
import { decodeOfficerPublicKey } from '../officer-keys.js';
import type { OfficerListHistory } from '../officer-list-history.js';
import { fromB64u } from '../profile-files.js';
import { verifyEd25519 } from '../signing-key.js';
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
 * device, at another time, with another reason or statement than its act; `release-signature`
 * its release statement does not stand (malformed, for another org, hold or reason, not signed
 * by the officer it names while in office), or it was released without one after the log's
 * first signed release; `unsigned-release` released without an officer signature before the
 * log's first signed release (before signing).
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
  | 'release'
  | 'release-signature'
  | 'unsigned-release';

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
  | 'releaseStatement'
  | 'releaseSignature'
  | 'placedDetail'
>;

/** A time in a problem text: a later time than a Date can show is named as a number, never throws. */
const iso = (ms: number): string =>
  Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? new Date(ms).toISOString() : `time ${ms}`;

/**
 * Every disagreement between `holds` (the server's whole listing) and the `hold` entries of
 * `entries`, release signatures checked against `officers` (the org's officer list history
 * over `entries`; asked only for a release that carries a statement). `scopes` is the run's
 * scope search: one per run, so that reading the listing again does not search again, and the
 * run's budget holds whatever the server lists.
 */
export function holdDisagreements(
  orgId: string,
  holds: readonly LoggedHold[],
  entries: readonly IndexedEntry[],
  officers: Pick<OfficerListHistory, 'at'>,
  scopes: HoldScopeSearch = holdScopeSearch(orgId),
): HoldDisagreement[] {
  const placed = new Map<string, HoldAct>();
  const released = new Map<string, HoldAct>();
  const out: HoldDisagreement[] = [];
  // Releases logged without a statement, judged once the log's first signed release is known.
  const unsigned: { holdId: string; act: HoldAct }[] = [];
  let firstSigned = Infinity;
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
    const statement = h.releaseStatement === null ? null : fromB64u(h.releaseStatement);
    const detail = h.releaseReason === null ? null : holdReleaseActDetail(h.releaseReason, statement);
    if (
      r.actor !== h.releasedBy ||
      r.time !== h.releasedAt ||
      r.hash !==
        auditDocumentHash(orgId, {
          kind: 'hold.release',
          actor: r.actor,
          subject: h.holdId,
          at: r.time,
          detail,
        })
    ) {
      out.push({
        holdId: h.holdId,
        aspect: 'release',
        problem:
          `the server lists it released by ${h.releasedBy ?? 'no one'} at ${iso(h.releasedAt)}, ` +
          `which is not the release act in the log (entry ${r.index}, ${iso(r.time)})`,
      });
      continue;
    }
    if (statement === null) {
      unsigned.push({ holdId: h.holdId, act: r });
      continue;
    }
    const why = releaseSignatureProblem(orgId, h, statement, r.index, officers);
    if (why === null) firstSigned = Math.min(firstSigned, r.index);
    else
      out.push({
        holdId: h.holdId,
        aspect: 'release-signature',
        problem: `its release (entry ${r.index}) is no officer's decision: ${why}`,
      });
  }
  for (const { holdId, act } of unsigned) out.push(unsignedRelease(holdId, act, firstSigned));
  return out;
}

/**
 * The finding for a release logged without an officer signature: before the log's first
 * signed release (`firstSigned`), as servers wrote releases before signing, it is
 * `unsigned-release` (an officer confirms it, docs/officers.md "Legal holds"); after it, no
 * honest server writes one, and it is `release-signature`.
 */
function unsignedRelease(holdId: string, r: HoldAct, firstSigned: number): HoldDisagreement {
  if (r.index > firstSigned)
    return {
      holdId,
      aspect: 'release-signature',
      problem:
        `the log releases it (entry ${r.index}, by ${r.actor} at ${iso(r.time)}) without an officer signature, ` +
        `after releases were signed (first at entry ${firstSigned}): the server released it, no officer did`,
    };
  return {
    holdId,
    aspect: 'unsigned-release',
    problem:
      `released without an officer signature (before signing): the log releases it (entry ${r.index}, ` +
      `by ${r.actor} at ${iso(r.time)}) as servers did before releases were signed; confirm with the officer ` +
      'who released it, then acknowledge this finding',
  };
}

/**
 * Why `statement`, listed as the officer's release of `h` and committed to by its act at
 * `logIndex`, is no officer's decision, or null when it verifies: it must name this org, the
 * hold and the listed reason, and be signed by the officer it names in the list in force then.
 */
function releaseSignatureProblem(
  orgId: string,
  h: LoggedHold,
  statement: Uint8Array,
  logIndex: number,
  officers: Pick<OfficerListHistory, 'at'>,
): string | null {
  let st;
  try {
    st = decodeHoldRelease(statement);
  } catch (e) {
    return `its release statement is malformed (${e instanceof Error ? e.message : 'undecodable'})`;
  }
  if (st.orgId !== orgId || st.holdId !== h.holdId)
    return 'its release statement names another organisation or hold';
  if (h.releaseReason === null || st.reasonSha256 !== holdReleaseReasonHash(h.releaseReason))
    return 'its release statement names another reason than the listed one';
  if (h.releaseSignature === null) return 'the server lists its release statement without a signature';
  const officer = officers.at(logIndex).officers.find((o) => o.index === st.officerIndex);
  if (officer === undefined)
    return `signed as officer ${st.officerIndex + 1}, who was not an officer when it was logged`;
  const key = decodeOfficerPublicKey(fromB64u(officer.publicKey)).signing;
  if (!verifyEd25519(key, holdReleaseMessage(statement), fromB64u(h.releaseSignature)))
    return `its signature does not verify as officer ${st.officerIndex + 1}'s`;
  return null;
}
