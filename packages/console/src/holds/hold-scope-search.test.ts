/**
 * holdScopeSearch: a listed hold against its placing act's document hash, within the run's
 * budget. A custodian or date hold costs one document and no budget; a token hold is searched
 * most likely first (as many buckets as listed), each candidate counted, until the budget is
 * spent (`over-budget`, never a pass); a hold and act searched before are answered from memory,
 * so reading the listing again costs nothing. The default budget is HOLD_SCOPE_BUDGET. The
 * search's templated hashing finds what the server's document (auditDocumentHash) commits to,
 * whatever the counts' digits.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LoggedHold } from './hold-log-check.js';
import { HOLD_SCOPE_BUDGET, holdScopeSearch, type HoldAct } from './hold-scope-search.js';
import { holdActEntry } from './hold-test-support.js';

const ORG = 'org-scope';
const T = Date.UTC(2026, 5, 1);
const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

const custodian: LoggedHold = {
  holdId: 'hold-c',
  kind: 'custodian',
  matter: 'Matter 9',
  custodian: 'user-3',
  from: null,
  to: null,
  buckets: [],
  createdBy: 'dev-officer',
  createdAt: T,
  releasedBy: null,
  releasedAt: null,
  releaseReason: null,
  releaseStatement: null,
  releaseSignature: null,
};
const buckets = (n: number): string[] => Array.from({ length: n }, (_, i) => `standard-b${i}`);
const query = (n: number): LoggedHold => ({
  ...custodian,
  holdId: `hold-q${n}`,
  kind: 'query',
  custodian: null,
  buckets: buckets(n),
});

/** The placing act of `h` as the log shows it, committing to `detail`. */
const placedWith = (h: LoggedHold, detail: string): HoldAct => {
  const e = holdActEntry(ORG, h, 'place', detail);
  return { index: 7, actor: e.actor, time: e.time, hash: Buffer.from(e.hash).toString('hex') };
};
const tokenDetail = (h: LoggedHold, b: number, tokens: number): string =>
  `kind=${h.kind} buckets=${b} tokens=${tokens} matter-sha256=${sha(h.matter)}`;

describe('holdScopeSearch', () => {
  it('matches a custodian hold with one document, outside the budget', () => {
    const search = holdScopeSearch(ORG, 0);
    const act = placedWith(custodian, `kind=custodian user=user-3 matter-sha256=${sha(custodian.matter)}`);
    expect(search.match(custodian, act)).toBe('as-listed');
    expect(search.match({ ...custodian, custodian: 'user-4' }, act)).toBe('otherwise');
    expect(search.tried).toBe(0);
  });

  it('finds a hold never extended at once, and an extended one after 32 candidates per bucket added', () => {
    const search = holdScopeSearch(ORG);
    const plain = query(5);
    expect(search.match(plain, placedWith(plain, tokenDetail(plain, 5, 15)))).toBe('as-listed');
    expect(search.tried).toBe(3);
    // Placed on 2 buckets, extended to 5: b = 5, 4, 3 are tried in full first.
    const extended = { ...query(5), holdId: 'hold-x' };
    expect(search.match(extended, placedWith(extended, tokenDetail(extended, 2, 6)))).toBe('as-listed');
    expect(search.tried).toBe(3 + 3 * 32 + 3);
  });

  it('stops at the budget and says so; answers a hold it searched before from memory', () => {
    const h = query(10);
    const act = placedWith(h, tokenDetail(h, 11, 11)); // more buckets than listed: never matches
    const search = holdScopeSearch(ORG, 200);
    expect(search.match(h, act)).toBe('over-budget');
    expect(search.tried).toBe(200);
    // Read again (the listing's next read): the same answer, nothing hashed.
    expect(search.match({ ...h, buckets: [...h.buckets] }, act)).toBe('over-budget');
    expect(search.tried).toBe(200);
    // With room: every candidate (10 buckets × 32 token counts) tried, none matched.
    const roomy = holdScopeSearch(ORG, 1_000);
    expect(roomy.match(h, act)).toBe('otherwise');
    expect(roomy.tried).toBe(320);
    expect(roomy.match(h, act)).toBe('otherwise');
    expect(roomy.tried).toBe(320);
    // Another scope listed for the same hold is searched anew.
    expect(roomy.match(query(11), placedWith(query(11), tokenDetail(query(11), 11, 11)))).toBe('as-listed');
  });

  it('spends one budget on every hold of the run, HOLD_SCOPE_BUDGET by default', () => {
    const search = holdScopeSearch(ORG, 500);
    const results = [1, 2, 3].map((i) => {
      const h = { ...query(8), holdId: `hold-${i}` };
      return search.match(h, placedWith(h, tokenDetail(h, 9, 9)));
    });
    // 256 candidates each: the first is settled, the second runs out, the third never starts.
    expect(results).toEqual(['otherwise', 'over-budget', 'over-budget']);
    expect(search.tried).toBe(500);
    expect(holdScopeSearch(ORG).budget).toBe(HOLD_SCOPE_BUDGET);
  });

  // The documented limit (docs/officers.md, "What a server can make the hold check cost"): the
  // search guesses the per-bucket token count, so an honest hold costs 32 candidates for every
  // bucket it was extended to. `--ahead` extends each token hold by 36 buckets a year (3 classes
  // x 12 months): 3,456 candidates for a hold three years old, so 74 of them fit the budget and
  // every later one is scope-unchecked. A search that knew the token count would pass the 75th.
  it('lets an honest org keep 74 token holds three years old within the budget, not 75 (the documented limit)', () => {
    const search = holdScopeSearch(ORG);
    const results = Array.from({ length: 75 }, (_, i) => {
      // Placed on the 3 buckets of its month with 2 tokens each, then extended by 108.
      const h = { ...query(3 + 108), holdId: `hold-3y-${i}` };
      return search.match(h, placedWith(h, tokenDetail(h, 3, 6)));
    });
    expect(results.slice(0, 74).every((r) => r === 'as-listed')).toBe(true);
    expect(results[74]).toBe('over-budget');
    // 3,458 candidates each (108 bucket counts x 32 token counts, then 2): 255,892 for 74.
    expect(74 * (108 * 32 + 2)).toBeLessThanOrEqual(HOLD_SCOPE_BUDGET);
    expect(search.tried).toBe(HOLD_SCOPE_BUDGET);
  });

  it('finds every bucket and token count the server may log, whatever their digits', () => {
    for (const b of [1, 9, 10, 99, 100, 999, 1_000])
      for (const k of [1, 9, 10, 32]) {
        // One bucket more listed than placed: the act is the second bucket count tried.
        const h = { ...query(Math.min(b + 1, 1_000)), holdId: `hold-${b}-${k}` };
        const search = holdScopeSearch(ORG);
        expect(search.match(h, placedWith(h, tokenDetail(h, b, b * k))), `${b} × ${k}`).toBe('as-listed');
        expect(search.tried).toBe(b === 1_000 ? k : 32 + k);
      }
  });
});
