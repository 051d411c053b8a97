/**
 * holdScopeSearch: a listed hold against its placing act's document hash, within the run's
 * budget. A custodian or date hold costs one document and no budget; a token hold listed with
 * its placing act's detail costs one candidate, however far it was extended; one listed
 * without (an older server), or with a detail that is not its act's, is searched most likely
 * first (as many buckets as listed), each candidate counted, until the budget is spent
 * (`over-budget`, never a pass); a hold and act searched before are answered from memory, so
 * reading the listing again costs nothing. The default budget is HOLD_SCOPE_BUDGET. The
 * search's templated hashing finds what the server's document (auditDocumentHash) commits to,
 * whatever the counts' digits.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { LoggedHold } from './hold-log-check.js';
import { HOLD_SCOPE_BUDGET, holdScopeSearch, type HoldAct } from './hold-scope-search.js';
import { holdActEntry, listedHold } from './hold-test-support.js';

const ORG = 'org-scope';
const T = Date.UTC(2026, 5, 1);
const sha = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

const custodian: LoggedHold = listedHold('dev-officer', T, { matter: 'Matter 9', custodian: 'user-3' });
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
/** `h` as a server that lists placing details lists it, with `detail`. */
const listedWith = <H extends LoggedHold>(h: H, detail: string): H => ({ ...h, placedDetail: detail });
/** A query hold `years` old, placed on the 3 buckets of its month and extended by 36 a year. */
const yearsOld = (years: number, i: number): LoggedHold => ({
  ...query(3 + 36 * years),
  holdId: `hold-${years}y-${i}`,
});

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

  // docs/officers.md, "What an honest org's holds cost". Without the placing detail (an older
  // server's listing) the search guesses the per-bucket token count, so an honest hold costs 32
  // candidates for every bucket it was extended to. `--ahead` extends each token hold by 36
  // buckets a year (3 classes x 12 months): 3,456 candidates for a hold three years old, so 74
  // of them fit the budget and every later one is scope-unchecked.
  it('without placing details, fits 74 token holds three years old in the budget, not 75, as before', () => {
    const search = holdScopeSearch(ORG);
    const results = Array.from({ length: 75 }, (_, i) => {
      // Placed on the 3 buckets of its month with 2 tokens each, then extended by 108.
      const h = yearsOld(3, i);
      return search.match(h, placedWith(h, tokenDetail(h, 3, 6)));
    });
    expect(results.slice(0, 74).every((r) => r === 'as-listed')).toBe(true);
    expect(results[74]).toBe('over-budget');
    // 3,458 candidates each (108 bucket counts x 32 token counts, then 2): 255,892 for 74.
    expect(74 * (108 * 32 + 2)).toBeLessThanOrEqual(HOLD_SCOPE_BUDGET);
    expect(search.tried).toBe(HOLD_SCOPE_BUDGET);
  });

  // With the placing detail listed, an honest hold costs one candidate whatever its age: the
  // budget holds 256,000 token holds, each up to 1,000 buckets (about 27 years of `--ahead`).
  it('with placing details, matches each honest token hold with one candidate, however old', () => {
    const search = holdScopeSearch(ORG);
    // The 75 holds three years old that ran the search above out of budget, and 1,000 more of
    // 27 years (975 buckets): 27,225 hold-years, 1,075 candidates.
    const holds = [
      ...Array.from({ length: 75 }, (_, i) => yearsOld(3, i)),
      ...Array.from({ length: 1_000 }, (_, i) => yearsOld(27, i)),
    ];
    const results = holds.map((h) => {
      const detail = tokenDetail(h, 3, 6);
      return search.match(listedWith(h, detail), placedWith(h, detail));
    });
    expect(results.every((r) => r === 'as-listed')).toBe(true);
    expect(search.tried).toBe(1_075);
    // A mixed listing: legacy holds are searched as before, listed ones cost one each.
    const mixed = holdScopeSearch(ORG);
    const legacy = yearsOld(3, 900);
    const listed = yearsOld(3, 901);
    expect(mixed.match(legacy, placedWith(legacy, tokenDetail(legacy, 3, 6)))).toBe('as-listed');
    expect(mixed.tried).toBe(108 * 32 + 2);
    const d = tokenDetail(listed, 3, 6);
    expect(mixed.match(listedWith(listed, d), placedWith(listed, d))).toBe('as-listed');
    expect(mixed.tried).toBe(108 * 32 + 3);
  });

  it("takes a listed detail only as a candidate: one that is not the act's costs one more, then the search decides", () => {
    const h = yearsOld(1, 0); // 39 buckets listed
    const act = placedWith(h, tokenDetail(h, 3, 6));
    const search = (detail: string, listing: LoggedHold = h) => {
      const s = holdScopeSearch(ORG);
      return [s.match(listedWith(listing, detail), act), s.tried] as const;
    };
    // The act's own detail: one candidate.
    expect(search(tokenDetail(h, 3, 6))).toEqual(['as-listed', 1]);
    // Another token or bucket count than the act's: one candidate, then the search finds the
    // act's (36 bucket counts in full, then 2), as it would without a detail.
    const searched = 36 * 32 + 2;
    expect(search(tokenDetail(h, 3, 9))).toEqual(['as-listed', 1 + searched]);
    expect(search(tokenDetail(h, 2, 4))).toEqual(['as-listed', 1 + searched]);
    // Details the search would never try are not hashed at all: more buckets than listed, a
    // count that is no whole 1-32 per bucket, another kind or matter, other spelling or text.
    for (const bad of [
      tokenDetail(h, 40, 40),
      tokenDetail(h, 3, 7),
      tokenDetail(h, 3, 3 * 33),
      tokenDetail(h, 0, 0),
      tokenDetail(h, 3, 6).replace('kind=query', 'kind=conversation'),
      tokenDetail(h, 3, 6).replace(sha(h.matter), sha('Matter 8')),
      tokenDetail(h, 3, 6).replace('buckets=3', 'buckets=03'),
      `${tokenDetail(h, 3, 6)} `,
      `kind=custodian user=user-3 matter-sha256=${sha(h.matter)}`,
      '',
    ])
      expect(search(bad), bad).toEqual(['as-listed', searched]);
    // The act's detail for a hold listed as another kind or matter, or on fewer buckets than it
    // was placed on, matches nothing: `otherwise` after the whole search, never a pass.
    const conversation = { ...h, kind: 'conversation' as const };
    expect(search(tokenDetail(h, 3, 6), conversation)).toEqual(['otherwise', 39 * 32]);
    expect(search(tokenDetail(h, 3, 6), { ...h, matter: 'Matter 8' })).toEqual(['otherwise', 39 * 32]);
    expect(search(tokenDetail(h, 3, 6), { ...h, buckets: h.buckets.slice(0, 2) })).toEqual([
      'otherwise',
      2 * 32,
    ]);
    // The budget counts the listed detail too: with none left, nothing passes.
    expect(holdScopeSearch(ORG, 0).match(listedWith(h, tokenDetail(h, 3, 6)), act)).toBe('over-budget');
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
