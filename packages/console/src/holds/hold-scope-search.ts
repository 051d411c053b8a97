/**
 * Whether a listed hold's kind, matter and scope are what its placing act commits to
 * (hold-log-check.ts), within a budget. The log holds only the act document's hash, and the
 * document carries counts and hashes (server holds/hold-acts.ts placeDetail), so a console
 * rebuilds the documents the listing allows and looks for the act's hash among them. For a
 * custodian or date hold that is one document. For a token hold (query, conversation) the
 * listing names the buckets it covers now, not how many it was placed on or with how many
 * tokens each, so there is one candidate per bucket and token count the listing allows, up to
 * 32 000 for one hold — unless the listing also hands over the placing act's detail
 * (`placedDetail`): that is one candidate, and it passes only if it is one of those the search
 * would try and the act's hash is its document's, the detail fixed in the append-only log when
 * the hold was placed. A detail that is absent (a server before it was listed) or is not the
 * act's leaves today's search. The server writes both the listing and the log, so it chooses
 * how many searches a check meets: each run hashes at most {@link HOLD_SCOPE_BUDGET}
 * candidates for token holds in all (every read of the listing included: a hold already
 * searched is not searched again), and a hold the budget ran out on is reported as unchecked,
 * never passed.
 */
import { createHash } from 'node:crypto';
import { encodeActDocument } from '@custos/core';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import type { LoggedHold } from './hold-log-check.js';

/**
 * Candidate act documents one run hashes, at most, to match token holds to their placing
 * acts: eight searches of the largest scope ({@link MAX_HOLD_BUCKETS} buckets, {@link
 * MAX_HOLD_TOKENS} tokens each), about 2 s on a loaded two-core machine (docs/officers.md,
 * "Completeness and alerts"). An honest hold listed with its placing detail needs one; listed
 * without, 32 per bucket it was extended by since it was placed, plus its token count.
 */
export const HOLD_SCOPE_BUDGET = 256_000;

/** Most buckets one token hold covers (server holds/hold-acts.ts MAX_HOLD_BUCKETS). */
const MAX_HOLD_BUCKETS = 1_000;
/** Most tokens per bucket (server MAX_HOLD_TOKENS). */
const MAX_HOLD_TOKENS = 32;

/** A hold act (placing or release) as the log shows it: entry, acting device, time, document hash (hex). */
export interface HoldAct {
  readonly index: number;
  readonly actor: string;
  readonly time: number;
  readonly hash: string;
}

/**
 * `as-listed`: the act commits to a document the listing implies; `otherwise`: to none of
 * them; `over-budget`: the budget ran out before the search could tell.
 */
export type ScopeMatch = 'as-listed' | 'otherwise' | 'over-budget';

/** One run's scope search: its answers so far and what is left of its budget. */
export interface HoldScopeSearch {
  /** Whether `act` placed `h` as listed; the same hold and act again is answered from memory. */
  match(h: LoggedHold, act: HoldAct): ScopeMatch;
  /** Candidate documents hashed for token holds so far (never more than `budget`). */
  readonly tried: number;
  readonly budget: number;
}

const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** The buckets a token hold's listing names (distinct, at most {@link MAX_HOLD_BUCKETS}). */
export function listedBucketCount(h: LoggedHold): number {
  return Math.min(new Set(h.buckets).size, MAX_HOLD_BUCKETS);
}

/**
 * Every detail a token hold's placing act may have, given the listing (server hold-acts.ts
 * placeDetail: `kind=… buckets=B tokens=N matter-sha256=…`). The listing names the buckets
 * the hold covers now, placed or extended since, so B is at most their number; a console
 * sends the same query's (or conversation's) tokens to every bucket, so N is B times that
 * query's token count. Most likely first: B as listed (a hold never extended).
 */
function* tokenHoldDetails(h: LoggedHold, m: string): Generator<string> {
  for (let b = listedBucketCount(h); b >= 1; b--)
    for (let k = 1; k <= MAX_HOLD_TOKENS; k++) yield tokenHoldDetail(h, b, k, m);
}

/** The detail of a token hold placed on `b` buckets with `k` tokens each. */
const tokenHoldDetail = (h: LoggedHold, b: number, k: number, m: string): string =>
  `kind=${h.kind} buckets=${b} tokens=${b * k} ${m}`;

/** The counts of a listed placing detail; the rest is compared whole (listedTokenDetail). */
const TOKEN_DETAIL_COUNTS = /^kind=[a-z]+ buckets=([0-9]{1,4}) tokens=([0-9]{1,6}) /;

/**
 * The placing act's detail the listing hands over for token hold `h`, when it is one of those
 * {@link tokenHoldDetails} yields — this kind and matter, at most as many buckets as listed,
 * 1 to 32 tokens a bucket, written exactly so — else null. Whether it is the act's detail is
 * for the act's hash to say: a server cannot list a scope its act does not commit to by
 * handing over another detail, only make the check search as it would without one.
 */
function listedTokenDetail(h: LoggedHold, m: string): string | null {
  const counts = h.placedDetail === null ? null : TOKEN_DETAIL_COUNTS.exec(h.placedDetail);
  if (counts === null) return null;
  const b = Number(counts[1]);
  const k = Number(counts[2]) / b;
  if (b < 1 || b > listedBucketCount(h) || !Number.isInteger(k) || k < 1 || k > MAX_HOLD_TOKENS) return null;
  const detail = tokenHoldDetail(h, b, k, m);
  return detail === h.placedDetail ? detail : null;
}

/** The placing act's document hash for `detail`. */
function placingHash(orgId: string, h: LoggedHold, p: HoldAct, detail: string): string {
  return auditDocumentHash(orgId, {
    kind: 'hold.create',
    actor: p.actor,
    subject: h.holdId,
    at: p.time,
    detail,
  });
}

/** Fills a detail's place in a template document: no id, time or detail holds it. */
const PLACEHOLDER = '\u0001';

/**
 * {@link placingHash} for many details of one hold and act, several times faster: the act's
 * document is encoded once per detail length with a placeholder detail, and each candidate's
 * bytes are written over it (a CBOR text string's UTF-8 bytes stand in the encoding as they
 * are, after a header that depends only on the length). Token-hold details are ASCII (kind,
 * counts, a hex hash), one byte a character. A template whose placeholder is not found exactly
 * once falls back to encoding each document.
 */
function placingHasher(orgId: string, h: LoggedHold, p: HoldAct): (detail: string) => string {
  const templates = new Map<number, { readonly doc: Buffer; readonly at: number } | null>();
  const template = (length: number) => {
    const placeholder = PLACEHOLDER.repeat(length);
    const doc = Buffer.from(
      encodeActDocument({
        org: orgId,
        kind: 'hold.create',
        actor: p.actor,
        subject: h.holdId,
        at: p.time,
        detail: placeholder,
      }),
    );
    const at = doc.indexOf(placeholder, 0, 'latin1');
    return at >= 0 && doc.indexOf(placeholder, at + 1, 'latin1') < 0 ? { doc, at } : null;
  };
  return (detail) => {
    if (!templates.has(detail.length)) templates.set(detail.length, template(detail.length));
    const t = templates.get(detail.length);
    if (t === null || t === undefined) return placingHash(orgId, h, p, detail);
    t.doc.write(detail, t.at, 'latin1');
    return createHash('sha256').update(t.doc).digest('hex');
  };
}

/**
 * A scope search for one run of org `orgId`'s hold check, hashing at most `budget` candidate
 * documents for token holds. Every detail names the kind and the matter's hash, so a hold
 * listed under another kind or matter than it was placed with matches none.
 */
export function holdScopeSearch(orgId: string, budget: number = HOLD_SCOPE_BUDGET): HoldScopeSearch {
  const known = new Map<string, ScopeMatch>();
  let tried = 0;
  const search = (h: LoggedHold, p: HoldAct): ScopeMatch => {
    const m = `matter-sha256=${sha256(h.matter)}`;
    if (h.kind === 'custodian')
      return placingHash(orgId, h, p, `kind=custodian user=${h.custodian ?? ''} ${m}`) === p.hash
        ? 'as-listed'
        : 'otherwise';
    if (h.kind === 'dates')
      return placingHash(orgId, h, p, `kind=dates from=${h.from ?? ''} to=${h.to ?? ''} ${m}`) === p.hash
        ? 'as-listed'
        : 'otherwise';
    const hash = placingHasher(orgId, h, p);
    const listed = listedTokenDetail(h, m);
    if (listed !== null) {
      if (tried >= budget) return 'over-budget';
      tried++;
      if (hash(listed) === p.hash) return 'as-listed';
    }
    for (const detail of tokenHoldDetails(h, m)) {
      if (tried >= budget) return 'over-budget';
      tried++;
      if (hash(detail) === p.hash) return 'as-listed';
    }
    return 'otherwise';
  };
  return {
    match(h, p) {
      // Not keyed by the listed placing detail: it changes how a hold is searched, not the
      // answer, which the act's hash decides (only running out of budget depends on it).
      const key = JSON.stringify([
        h.holdId,
        h.kind,
        h.matter,
        h.custodian,
        h.from,
        h.to,
        h.kind === 'custodian' || h.kind === 'dates' ? 0 : listedBucketCount(h),
        p.actor,
        p.time,
        p.hash,
      ]);
      const seen = known.get(key);
      if (seen !== undefined) return seen;
      const found = search(h, p);
      known.set(key, found);
      return found;
    },
    get tried() {
      return tried;
    },
    budget,
  };
}
