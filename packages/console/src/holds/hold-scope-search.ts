/**
 * Whether a listed hold's kind, matter and scope are what its placing act commits to
 * (hold-log-check.ts), within a budget. The act's document carries counts and hashes only
 * (server holds/hold-acts.ts placeDetail), so a console cannot read the scope back: it
 * rebuilds every document the listing allows and looks for the act's hash among them. For a
 * custodian or date hold that is one document; for a token hold (query, conversation) it is
 * one per bucket and token count the listing allows, up to 32 000 for one hold. The server
 * writes both the listing and the log, so it chooses how many such holds a check meets: each
 * run hashes at most {@link HOLD_SCOPE_BUDGET} candidates for token holds in all (every read
 * of the listing included: a hold already searched is not searched again), and a hold the
 * budget ran out on is reported as unchecked, never passed.
 */
import { createHash } from 'node:crypto';
import { encodeActDocument } from '@custos/core';
import { auditDocumentHash } from '../audit/audit-document-hash.js';
import type { LoggedHold } from './hold-log-check.js';

/**
 * Candidate act documents one run hashes, at most, to match token holds to their placing
 * acts: eight holds of the largest scope ({@link MAX_HOLD_BUCKETS} buckets, {@link
 * MAX_HOLD_TOKENS} tokens each), about 2 s on a loaded two-core machine (docs/officers.md,
 * "Completeness and alerts"). An honest hold needs 32 per bucket it was extended by since it
 * was placed, plus its token count.
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
    for (let k = 1; k <= MAX_HOLD_TOKENS; k++) yield `kind=${h.kind} buckets=${b} tokens=${b * k} ${m}`;
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
    for (const detail of tokenHoldDetails(h, m)) {
      if (tried >= budget) return 'over-budget';
      tried++;
      if (hash(detail) === p.hash) return 'as-listed';
    }
    return 'otherwise';
  };
  return {
    match(h, p) {
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
